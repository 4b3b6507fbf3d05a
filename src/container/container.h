// The container runtime's operations, one per runtime command. Each takes the StateStore of
// --root and returns a Result whose error reads as a sentence for the user.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "container/state_store.h"
#include "oci/runtime_spec.h"

namespace hull::container {

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  // Instead of console_socket: an already connected socket (borrowed), used by `run` in the
  // foreground to receive the terminal itself.
  int console_fd = -1;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  bool systemd_cgroup = false;
};

// `create`: the container exists with its init waiting for `start`.
[[nodiscard]] Result<void> Create(const StateStore& store, const CreateOptions& options);
// `start`: releases the init of a created container to exec the user process.
[[nodiscard]] Result<void> Start(const StateStore& store, const std::string& id);
// `run`: create + start. In the foreground it waits, forwarding signals, and returns the
// process's exit code (128+N for a signal); then deletes the container unless `keep`. With
// process.terminal and no --console-socket it becomes the terminal itself (stdin/stdout).
// Detached, it returns 0 once the process runs.
[[nodiscard]] Result<int> Run(const StateStore& store, const CreateOptions& options, bool detach,
                              bool keep);

// The spec state plus runc's extra fields, as `state` prints it.
[[nodiscard]] Result<std::string> StateJson(const StateStore& store, const std::string& id);

struct ListEntry {
  ContainerRecord record;
  Status status;
};
[[nodiscard]] Result<std::vector<ListEntry>> List(const StateStore& store);

[[nodiscard]] Result<void> Kill(const StateStore& store, const std::string& id, int signal,
                                bool all);
[[nodiscard]] Result<void> Delete(const StateStore& store, const std::string& id, bool force);
[[nodiscard]] Result<void> Pause(const StateStore& store, const std::string& id);
[[nodiscard]] Result<void> Resume(const StateStore& store, const std::string& id);
[[nodiscard]] Result<std::vector<pid_t>> Processes(const StateStore& store,
                                                   const std::string& id);
[[nodiscard]] Result<void> Update(const StateStore& store, const std::string& id,
                                  const oci::Resources& resources);
// `events`: calls `emit` with a runc "stats" event at once. With `once` (`events --stats`) that
// is all; otherwise another follows every `interval`, and an "oom" event whenever the
// container's cgroup runs out of memory, until the container's init exits. Fails for a
// container that does not exist or is stopped.
[[nodiscard]] Result<void> Events(const StateStore& store, const std::string& id, bool once,
                                  std::chrono::nanoseconds interval,
                                  const std::function<void(const std::string&)>& emit);

struct ExecOptions {
  std::string id;
  oci::Process process;  // complete: the CLI merges --process or the container's defaults
  std::string pid_file;
  std::string console_socket;
  bool detach = false;
  bool ignore_paused = false;  // exec even when the container is paused (the process waits)
  int preserve_fds = 0;
};
// The container's default process for `exec` with arguments: its config's env, user, cwd,
// capabilities, rlimits, noNewPrivileges and LSM labels.
[[nodiscard]] Result<oci::Process> DefaultExecProcess(const StateStore& store,
                                                      const std::string& id);
// `exec`: runs another process in a running container. Foreground: returns its exit code;
// with a terminal and no --console-socket it becomes the terminal itself.
[[nodiscard]] Result<int> Exec(const StateStore& store, const ExecOptions& options);

}  // namespace hull::container
