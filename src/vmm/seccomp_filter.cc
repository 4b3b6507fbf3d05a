#include "vmm/seccomp_filter.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/socket.h>

#include <memory>

#include "vmm/kvm/ioctls.h"

namespace hull::vmm {

Result<SeccompMode> ParseSeccompMode(std::string_view text) {
  if (text == "off") return SeccompMode::kOff;
  if (text == "log") return SeccompMode::kLog;
  if (text == "kill" || text == "on") return SeccompMode::kKill;
  return Fail("seccomp " + Quote(text) + ": expected on, off or log");
}

Result<void> InstallSeccompFilter(SeccompMode mode) {
  if (mode == SeccompMode::kOff) return {};
  uint32_t default_action = mode == SeccompMode::kLog ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(default_action), seccomp_release);
  if (!ctx) return Fail("seccomp_init failed");

  // Threads, memory, signals, time: what glibc and libstdc++ need on these paths.
  const int kSyscalls[] = {
      SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
      SCMP_SYS(pwrite64), SCMP_SYS(close), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(futex),
      SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(brk),
      SCMP_SYS(mremap), SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list),
      SCMP_SYS(rseq), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
      SCMP_SYS(rt_sigaction),  // glibc installs its SIGSETXID handler with the first thread
      SCMP_SYS(tgkill), SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(exit), SCMP_SYS(exit_group),
      SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(sched_yield),
      SCMP_SYS(sched_getaffinity), SCMP_SYS(getrandom), SCMP_SYS(fdatasync), SCMP_SYS(fsync),
      SCMP_SYS(fallocate), SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
      SCMP_SYS(accept4), SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(unlink),
      SCMP_SYS(connect), SCMP_SYS(shutdown), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
      SCMP_SYS(epoll_ctl),
      SCMP_SYS(restart_syscall),
  };
  for (int syscall : kSyscalls) {
    if (seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, syscall, 0) < 0)
      return Fail("seccomp: cannot allow system call " + std::to_string(syscall));
  }
  // vsock connects guest streams to unix sockets on the host: AF_UNIX sockets only.
  if (seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                       SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) < 0) {
    return Fail("seccomp: cannot allow AF_UNIX sockets");
  }
  // glibc opens a few /proc files read-only (malloc checks overcommit_memory when it adds an
  // arena for a new thread): allow opening for reading only, never creating or writing.
  if (seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                       SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)) < 0) {
    return Fail("seccomp: cannot allow read-only openat");
  }
  // ioctl: running a vCPU, its registers for an error report, the IRQ line (in-kernel irqchip),
  // and the user-space IOAPIC's interrupts and routes (split irqchip); the VM, its vCPUs,
  // memory and devices (taps included) are all set up before the filter.
  const unsigned long kIoctls[] = {KVM_RUN, KVM_GET_REGS, KVM_IRQ_LINE, KVM_SIGNAL_MSI,
                                   kvm::ioctls::kSetGsiRouting};
  for (unsigned long request : kIoctls) {
    if (seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                         SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(request))) < 0) {
      return Fail("seccomp: cannot allow ioctl " + std::to_string(request));
    }
  }
  // The stdio console puts a terminal on stdin back the way it found it when the VM ends.
  for (unsigned long request : {TCGETS, TCSETS}) {
    if (seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2, SCMP_A0(SCMP_CMP_EQ, 0),
                         SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(request))) < 0) {
      return Fail("seccomp: cannot allow terminal ioctls on stdin");
    }
  }
  int rc = seccomp_load(ctx.get());
  if (rc < 0) return Fail(-rc, "seccomp_load");
  return {};
}

}  // namespace hull::vmm
