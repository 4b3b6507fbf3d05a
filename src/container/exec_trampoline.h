// The exec trampoline: how `exec` keeps the runtime's binary out of a container's reach
// without copying the whole runtime (see linux/sealed_self.h for the attack).
//
// The process `exec` starts is the runtime's binary until its last execve(). If that execve()
// ran the container's program directly, a program whose interpreter is /proc/self/exe would
// have the kernel run the runtime's binary inside the container. Instead the process executes
// a tiny trampoline from a sealed memfd, which then executes the program: /proc/self/exe is
// the sealed trampoline at that moment. Before that last step the process is non-dumpable,
// which keeps /proc/PID/exe closed to the container unless it has CAP_SYS_PTRACE; for such a
// container `exec` re-executes the whole runtime from a sealed copy instead.
#pragma once

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::container {

// A sealed memfd (close-on-exec) with the trampoline (container/trampoline/trampoline.c).
// It is run with argv [report fd, program path, argv0, argv1, ...].
[[nodiscard]] Result<linux::UniqueFd> MakeExecTrampoline();

}  // namespace hull::container
