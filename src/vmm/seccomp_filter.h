// The seccomp allow-list for hull-vmm once the VM is built: the system calls the vCPU threads,
// the device models and the event loop make, with ioctl limited to the KVM requests they use. Everything else kills the process (or, in kLog mode, is allowed and logged by the
// kernel, for finding what a new code path needs).
//
// Installed by Vm::Run() on the calling thread before it starts the vCPU threads, which inherit
// it; it then covers every thread of the VMM.
#pragma once

#include <string_view>

#include "base/error.h"

namespace hull::vmm {

enum class SeccompMode { kOff, kLog, kKill };

[[nodiscard]] Result<SeccompMode> ParseSeccompMode(std::string_view text);
[[nodiscard]] Result<void> InstallSeccompFilter(SeccompMode mode);

}  // namespace hull::vmm
