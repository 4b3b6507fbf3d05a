// hull-vmm's seccomp allow-lists, one per phase of the process:
//
// - kSetup: building a VM and serving the API before InstanceStart: opening the kernel, initrd,
//   disks, /dev/kvm and /dev/net/tun, KVM ioctls (any request of KVM's ioctl type), tap and
//   terminal ioctls by name, unix sockets for the API, console and vsock, memfds and eventfds.
//   No execve, no new processes, no other socket families, no mounts, namespaces, ptrace or
//   privilege changes. Installed by api::RunWithApi() before the first request is read.
// - kRun: what a running VM needs: the vCPU threads (KVM_RUN, KVM_GET_REGS, KVM_IRQ_LINE), the
//   device models and the event loop. Installed by Vm::Run() before it starts the vCPU
//   threads, which inherit it; filters stack, so over kSetup it narrows what is allowed. Beyond
//   kSetup's limits: no opening of files (openat fails with EACCES: glibc's malloc probes
//   /proc/sys/vm/overcommit_memory and copes), no binding or listening, no memfd or eventfd,
//   only the three KVM ioctls.
//
// In both: clone only for threads (CLONE_THREAD, no namespace flags); clone3, whose flags sit in
// memory a filter cannot read, fails with ENOSYS so that glibc falls back to clone. unlink stays
// allowed in kRun because the API, console and vsock sockets are removed when the VM ends.
// Anything else kills the process (kKill), or is allowed and logged by the kernel (kLog, for
// finding what a new code path needs).
#pragma once

#include <string_view>

#include "base/error.h"

namespace hull::vmm {

enum class SeccompMode { kOff, kLog, kKill };
enum class SeccompPhase { kSetup, kRun };

[[nodiscard]] Result<SeccompMode> ParseSeccompMode(std::string_view text);
// Builds the phase's allow-list and loads it for the calling thread and the threads it creates
// later (with no_new_privs). Process-global in effect: tests call it in a forked child.
[[nodiscard]] Result<void> InstallSeccompFilter(SeccompMode mode,
                                                SeccompPhase phase = SeccompPhase::kRun);

}  // namespace hull::vmm
