// A terminal for a foreground `run` or `exec` when no --console-socket is given: the runtime
// receives the pty master itself and copies between it and its own stdin/stdout, as runc does.
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::container {

// A connected socketpair: `runtime_end` receives the master, `container_end` is handed to the
// container's init as its console socket.
struct ConsoleChannel {
  linux::UniqueFd runtime_end;
  linux::UniqueFd container_end;
};
[[nodiscard]] Result<ConsoleChannel> MakeConsoleChannel();

// Copies stdin to `master` and `master` to stdout (stdin in raw mode while it is a terminal,
// window size passed on at start and on SIGWINCH), forwards the usual signals to the process
// and returns its exit code once it exits. `pid` is a child of this process; `pidfd` and
// `master` remain owned by the caller.
[[nodiscard]] Result<int> ProxyTerminalAndWait(pid_t pid, int pidfd, int master);

}  // namespace hull::container
