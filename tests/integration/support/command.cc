#include "support/command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <utility>

extern char** environ;

namespace hull::testing {
namespace {

std::string ReadWholeFd(int fd) {
  std::string data;
  if (fd < 0) return data;
  char buffer[65536];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  return data;
}

int MakeMemFile(const char* name, const std::string& contents) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

std::string Quote(const std::string& word) {
  if (!word.empty() && word.find_first_of(" \t\n'\"\\$`*?;&|<>(){}") == std::string::npos)
    return word;
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  return quoted + "'";
}

}  // namespace

std::string CommandResult::Describe() const {
  std::ostringstream text;
  text << "command:";
  for (const auto& word : argv) text << ' ' << Quote(word);
  text << "\n  ";
  if (timed_out)
    text << "TIMED OUT (killed)";
  else if (term_signal != 0)
    text << "killed by signal " << term_signal;
  else
    text << "exit code " << exit_code;
  text << "\n  stdout: " << out << "\n  stderr: " << err << "\n";
  return text.str();
}

std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = ::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::istringstream stream(dirs);
  std::string dir;
  while (std::getline(stream, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "";
}

Command Command::Start(std::vector<std::string> argv, const CommandOptions& options) {
  Command command;
  command.argv_ = argv;
  if (argv.empty()) {
    command.start_error_ = "empty command line";
    return command;
  }
  std::string program = FindProgram(argv[0]);
  if (program.empty()) {
    command.start_error_ = "program not found: " + argv[0];
    return command;
  }

  // Everything the child needs is prepared before fork(): between fork and exec the child only
  // makes async-signal-safe calls (the test process may have threads).
  std::map<std::string, std::string> env_map;
  for (char** entry = environ; *entry; ++entry) {
    std::string item = *entry;
    auto eq = item.find('=');
    if (eq == std::string::npos) continue;
    env_map[item.substr(0, eq)] = item.substr(eq + 1);
  }
  for (const auto& [key, value] : options.env) {
    if (value.empty())
      env_map.erase(key);
    else
      env_map[key] = value;
  }
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : env_map) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& item : env_strings) envp.push_back(item.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& word : argv) args.push_back(word.data());
  args.push_back(nullptr);

  int stdin_fd = options.stdin_data.empty() ? ::open("/dev/null", O_RDONLY | O_CLOEXEC)
                                            : MakeMemFile("stdin", options.stdin_data);
  command.out_fd_ = MakeMemFile("stdout", "");
  command.err_fd_ = MakeMemFile("stderr", "");
  const char* cwd = options.cwd ? options.cwd->c_str() : nullptr;
  std::vector<int> pass_fds = options.pass_fds;
  const int pass_base = 1000;  // parking range while moving passed fds into place

  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (size_t i = 0; i < pass_fds.size(); ++i) ::dup2(pass_fds[i], pass_base + static_cast<int>(i));
    ::dup2(stdin_fd, 0);
    ::dup2(command.out_fd_, 1);
    ::dup2(command.err_fd_, 2);
    for (size_t i = 0; i < pass_fds.size(); ++i)
      ::dup2(pass_base + static_cast<int>(i), 3 + static_cast<int>(i));
    ::syscall(SYS_close_range, 3 + pass_fds.size(), ~0U, 0);
    if (cwd && ::chdir(cwd) != 0) _exit(126);
    ::execve(program.c_str(), args.data(), envp.data());
    const char message[] = "exec failed\n";
    (void)!::write(2, message, sizeof message - 1);
    _exit(127);
  }
  if (stdin_fd >= 0) ::close(stdin_fd);
  if (pid < 0) {
    command.start_error_ = std::string("fork: ") + std::strerror(errno);
    return command;
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before we might signal it
  command.pid_ = pid;
  command.pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return command;
}

Command::Command(Command&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      out_fd_(std::exchange(other.out_fd_, -1)),
      err_fd_(std::exchange(other.err_fd_, -1)),
      argv_(std::move(other.argv_)),
      start_error_(std::move(other.start_error_)) {}

Command::~Command() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  for (int fd : {pidfd_, out_fd_, err_fd_})
    if (fd >= 0) ::close(fd);
}

void Command::Signal(int sig) {
  if (pid_ > 0) ::kill(-pid_, sig);
}

std::string Command::CurrentOut() const { return ReadWholeFd(out_fd_); }
std::string Command::CurrentErr() const { return ReadWholeFd(err_fd_); }

CommandResult Command::Wait(std::chrono::milliseconds timeout) {
  CommandResult result;
  result.argv = argv_;
  if (pid_ <= 0) {
    result.exit_code = 127;
    result.err = start_error_.empty() ? "not started" : start_error_;
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (done < 0 && errno != EINTR) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    if (pidfd_ >= 0) {
      struct pollfd pfd = {pidfd_, POLLIN, 0};
      ::poll(&pfd, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
    } else {
      ::usleep(1000);
    }
  }
  pid_ = -1;
  if (!result.timed_out) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  }
  result.out = ReadWholeFd(out_fd_);
  result.err = ReadWholeFd(err_fd_);
  return result;
}

CommandResult RunCommand(std::vector<std::string> argv, const CommandOptions& options) {
  Command command = Command::Start(std::move(argv), options);
  return command.Wait(options.timeout);
}

}  // namespace hull::testing
