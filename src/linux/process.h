// Processes: pidfds, waiting with a deadline, and fd passing over unix sockets.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::linux {

[[nodiscard]] Result<UniqueFd> OpenPidFd(pid_t pid);
// Waits until the process behind `pidfd` exits or `timeout_ms` passes (-1: forever).
// Returns true if it exited. Does not reap. `pidfd` remains owned by the caller.
[[nodiscard]] Result<bool> WaitPidFdExit(int pidfd, int timeout_ms);

// Reaps a child; returns its wait status. Retries EINTR.
[[nodiscard]] Result<int> WaitChild(pid_t pid);
// Turns a wait status into a shell-style exit code (128 + signal for a signal death).
int ExitCodeFromStatus(int status);

// Receives one fd sent with SCM_RIGHTS (as SendFdRaw and console sockets send it) over
// `socket`, which remains owned by the caller.
[[nodiscard]] Result<UniqueFd> ReceiveFd(int socket);
// Connects a SOCK_STREAM unix socket to `path`.
[[nodiscard]] Result<UniqueFd> ConnectUnix(const std::string& path);

}  // namespace hull::linux
