// Runs a program (the runtime under test, a client like podman or ctr) as a child process and
// captures what it printed and how it ended. Every run has a deadline: a hung program is killed
// (its whole process group) and reported as timed out, so a broken runtime fails a test instead
// of hanging CI.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hull::testing {

struct CommandResult {
  std::vector<std::string> argv;
  int exit_code = -1;     // exit status if the program exited, else -1
  int term_signal = 0;    // signal that killed it, else 0
  bool timed_out = false; // killed by us at the deadline
  std::string out;
  std::string err;

  bool ok() const { return exit_code == 0 && !timed_out; }
  // One paragraph for assertion messages: the command line, the status and both outputs.
  std::string Describe() const;
};

struct CommandOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Written to the program's stdin (a file, so the program may read it at any time). Empty:
  // stdin is /dev/null.
  std::string stdin_data;
  // Set in the program's environment on top of ours ("" removes a variable).
  std::map<std::string, std::string> env;
  std::optional<std::string> cwd;
  // Descriptors of the caller given to the program as fds 3, 4, ... in this order. They remain
  // owned by the caller.
  std::vector<int> pass_fds;
};

// A program started in the background, in its own process group. Its stdout and stderr go to
// anonymous files (not pipes): a runtime's `create` hands its stdio to the container, which
// keeps running after the runtime exits, so "read until EOF" would never end.
class Command {
 public:
  static Command Start(std::vector<std::string> argv, const CommandOptions& options = {});
  Command(Command&& other) noexcept;
  Command& operator=(Command&&) = delete;
  Command(const Command&) = delete;
  ~Command();  // kills the process group and reaps if still running

  pid_t pid() const { return pid_; }
  // Waits until the program exits or the timeout passes (then kills its process group).
  CommandResult Wait(std::chrono::milliseconds timeout);
  // What the program printed so far.
  std::string CurrentOut() const;
  std::string CurrentErr() const;
  // Sends a signal to the process group.
  void Signal(int sig);
  bool running() const { return pid_ > 0; }

 private:
  Command() = default;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::vector<std::string> argv_;
  std::string start_error_;
};

// Start + Wait(options.timeout).
CommandResult RunCommand(std::vector<std::string> argv, const CommandOptions& options = {});

// Looks a program up in PATH; empty if absent.
std::string FindProgram(const std::string& name);

}  // namespace hull::testing
