// Running from a sealed copy of our own binary (the defence against CVE-2019-5736).
//
// A process the runtime starts in a container is the runtime's binary until it executes the
// container's program. The container can make the kernel run that binary, e.g. through a script
// whose interpreter is /proc/self/exe, or, with CAP_SYS_PTRACE (or on joining an existing pid
// namespace, before the process is non-dumpable), open its /proc/PID/exe, and reopen that for
// writing once no runtime runs. Where a sealed trampoline and non-dumpable do not suffice
// (container/exec_trampoline.h), re-executing from a memfd copy sealed against writes means the
// binary is never the file on the host.
#pragma once

#include <cstddef>

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::linux {

// True when this process runs from such a sealed copy.
bool RunningFromSealedCopy();

// Re-executes this process, with the same arguments and environment, from a sealed memfd copy
// of its binary. Returns only on failure (or at once, with success, if already running from
// one). Must be called before the process has created anything it would leak on exec.
[[nodiscard]] Result<void> ReexecFromSealedCopy();

// A memfd named `name` holding `size` bytes of `data`, sealed against any change.
[[nodiscard]] Result<UniqueFd> SealedMemfd(const char* name, const void* data, size_t size);

}  // namespace hull::linux
