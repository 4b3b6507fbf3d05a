// Internal to the container library: the shared path of `create` and `run` up to the moment
// the init reports it is ready, and helpers common to the lifecycle commands.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "base/error.h"
#include "container/cgroup.h"
#include "container/container.h"
#include "container/state_store.h"
#include "linux/syscalls.h"
#include "linux/unique_fd.h"
#include "oci/runtime_spec.h"

namespace hull::container {

struct Launched {
  ContainerRecord record;
  oci::Spec spec;
  linux::UniqueFd pidfd;
  linux::UniqueFd sync;  // runtime end of the sync socket
};

enum class LaunchMode { kCreate, kRun };

// Validates, creates the state directory, cgroup and namespaces, and drives the init until it
// reports kReady. On failure nothing is left behind. The record is saved before returning.
[[nodiscard]] Result<Launched> Launch(const StateStore& store, const CreateOptions& options,
                                      LaunchMode mode);

// The SOCK_SEQPACKET socketpair between the runtime and a process it clones to become a
// container process (the init, or the process of `exec`). Both ends are CLOEXEC, so the runtime
// reads EOF when the process executes. Made before the clone: the child's plan names its end.
struct SyncSockets {
  linux::UniqueFd runtime_end;
  linux::UniqueFd child_end;
};
[[nodiscard]] Result<SyncSockets> MakeSyncSockets();

struct ClonedChild {
  pid_t pid = 0;
  linux::UniqueFd pidfd;
};

// clone3(flags | CLONE_PIDFD), SIGCHLD on exit. The child closes the runtime's end of `sockets`
// and runs `child_main()`, which must not return (it execs or exits); here the child's end is
// closed once the clone is made.
template <typename ChildMain>
[[nodiscard]] Result<ClonedChild> CloneWithSyncSockets(SyncSockets& sockets, int flags,
                                                       ChildMain&& child_main) {
  int pidfd = -1;
  clone_args args{};
  args.flags = static_cast<uint64_t>(flags) | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  long pid = linux::sys::Clone3(&args);
  if (pid == 0) {
    ::close(sockets.runtime_end.get());
    child_main();
    ::_exit(127);
  }
  if (pid < 0) return FailErrno("clone3 (flags " + std::to_string(flags) + ")");
  sockets.child_end.reset();
  return ClonedChild{static_cast<pid_t>(pid), linux::UniqueFd(pidfd)};
}

// Lets the child go on: kContinue over `sync_fd`, carrying `pid` (the child's own pid as the
// runtime sees it).
[[nodiscard]] Result<void> SendContinue(int sync_fd, pid_t pid);

// The spec state JSON of a container for hooks' stdin and `state`.
std::string HookState(const ContainerRecord& record, const char* status, bool pretty);

// Tears down what a container leaves on the host: kills what is left in its cgroup when the
// container has no pid namespace of its own, removes the cgroup (a failure, e.g. a process that
// is not the container's still in it, is a warning, as in runc), runs poststop hooks (failures
// are warnings), removes the state directory.
[[nodiscard]] Result<void> Destroy(const StateStore& store, const ContainerRecord& record,
                                   const oci::Spec* spec);

// The cgroup of a recorded container, reopened on the host's current layout.
[[nodiscard]] Result<Cgroup> OpenContainerCgroup(const ContainerRecord& record);

// Waits until the process behind the runtime end of a sync socket executes (EOF: its end was
// close-on-exec) or reports why it could not (kFailed).
[[nodiscard]] Result<void> WaitForExec(int sync_fd);

// While it lives, the signals a user sends to a foreground `run` or `exec` (^C, kill, window
// changes) are blocked and read from fd(), to be passed on to the container's process. The old
// signal mask is back on destruction.
class ForwardedSignals {
 public:
  ForwardedSignals();
  ~ForwardedSignals();
  ForwardedSignals(const ForwardedSignals&) = delete;
  ForwardedSignals& operator=(const ForwardedSignals&) = delete;

  // The signalfd to poll for POLLIN; -1 if none could be made (nothing is passed on then).
  int fd() const { return fd_.get(); }
  // The number of a signal that arrived, or 0.
  int Next();

 private:
  sigset_t old_mask_{};
  linux::UniqueFd fd_;
};

// Waits for `pid` (a child of this process, with `pidfd` borrowed) while passing on the signals
// a user sends to the runtime; returns its exit code (128+N for a signal).
[[nodiscard]] Result<int> ForwardSignalsAndWait(pid_t pid, int pidfd);

}  // namespace hull::container
