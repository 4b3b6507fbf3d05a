// Running from a sealed copy of our own binary (the defence against CVE-2019-5736).
//
// When the runtime enters a container that already has processes (exec, or a container joining
// an existing pid namespace), the container can make the kernel run whatever binary the
// entering process is, e.g. through a script whose interpreter is /proc/self/exe, and then
// reopen that process's /proc/PID/exe for writing once it exits. Re-executing from a memfd
// copy sealed against writes means that binary is never the file on the host.
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
