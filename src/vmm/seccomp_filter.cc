#include "vmm/seccomp_filter.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include <initializer_list>
#include <memory>

#include "vmm/kvm/ioctls.h"

namespace hull::vmm {
namespace {

using FilterContext = std::unique_ptr<void, void (*)(scmp_filter_ctx)>;

// Flags that would give a new thread namespaces of its own.
constexpr scmp_datum_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                         CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

// The type byte of an ioctl request (bits 8-15): KVM's requests all have KVMIO.
constexpr scmp_datum_t kIoctlTypeMask = 0xff00;

Result<void> Add(scmp_filter_ctx ctx, uint32_t action, int syscall,
                 std::initializer_list<scmp_arg_cmp> args = {}) {
  int rc = seccomp_rule_add_array(ctx, action, syscall, static_cast<unsigned>(args.size()),
                                  args.size() == 0 ? nullptr : args.begin());
  if (rc < 0) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, syscall);
    std::string what = name != nullptr ? name : std::to_string(syscall);
    free(name);
    return Fail(-rc, "seccomp: cannot add a rule for " + what);
  }
  return {};
}

// What both phases allow: threads, memory, signals, time, I/O on fds already open, and the
// running VM's devices and event loop.
Result<void> AddRunRules(scmp_filter_ctx ctx) {
  const int kSyscalls[] = {
      // I/O on open fds; block devices (pread/pwrite, flush, discard and write-zeroes).
      SCMP_SYS(read),
      SCMP_SYS(write),
      SCMP_SYS(readv),
      SCMP_SYS(writev),
      SCMP_SYS(pread64),
      SCMP_SYS(pwrite64),
      SCMP_SYS(lseek),
      SCMP_SYS(close),
      SCMP_SYS(fdatasync),
      SCMP_SYS(fsync),
      SCMP_SYS(fallocate),
      SCMP_SYS(fstat),
      SCMP_SYS(newfstatat),
      // Event loop, vsock (connect to host unix sockets), API and console clients.
      SCMP_SYS(poll),
      SCMP_SYS(ppoll),
      SCMP_SYS(epoll_wait),
      SCMP_SYS(epoll_pwait),
      SCMP_SYS(epoll_ctl),
      SCMP_SYS(accept4),
      SCMP_SYS(connect),
      SCMP_SYS(sendto),
      SCMP_SYS(recvfrom),
      SCMP_SYS(shutdown),
      // Memory (malloc, thread stacks, unmapping guest memory at the end).
      SCMP_SYS(mmap),
      SCMP_SYS(munmap),
      SCMP_SYS(mprotect),
      SCMP_SYS(madvise),
      SCMP_SYS(brk),
      SCMP_SYS(mremap),
      // Threads and signals (SIGUSR2 kicks a vCPU out of KVM_RUN; glibc installs its SIGSETXID
      // handler with the first thread).
      SCMP_SYS(set_robust_list),
      SCMP_SYS(rseq),
      SCMP_SYS(futex),
      SCMP_SYS(rt_sigprocmask),
      SCMP_SYS(rt_sigreturn),
      SCMP_SYS(rt_sigaction),
      SCMP_SYS(sigaltstack),
      SCMP_SYS(tgkill),
      SCMP_SYS(gettid),
      SCMP_SYS(getpid),
      SCMP_SYS(sched_getaffinity),
      SCMP_SYS(sched_yield),
      SCMP_SYS(exit),
      SCMP_SYS(exit_group),
      SCMP_SYS(restart_syscall),
      // Time and entropy (virtio-rng).
      SCMP_SYS(clock_gettime),
      SCMP_SYS(clock_nanosleep),
      SCMP_SYS(nanosleep),
      SCMP_SYS(getrandom),
      // The API, console and vsock sockets are removed when the VM ends.
      SCMP_SYS(unlink),
  };
  for (int syscall : kSyscalls) TRY(Add(ctx, SCMP_ACT_ALLOW, syscall));
  // Threads only: clone with CLONE_THREAD and no namespace flags. clone3 passes its flags in
  // memory, out of a filter's reach: ENOSYS makes glibc fall back to clone.
  TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone),
          {SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | kNamespaceFlags, CLONE_THREAD)}));
  TRY(Add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3)));
  // Unix sockets only (vsock connects guest streams to them).
  TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)}));
  // ioctl: running a vCPU, its registers for an error report, the IRQ line (in-kernel
  // irqchip), and the user-space IOAPIC's interrupts and routes (split irqchip).
  for (unsigned long request : {KVM_RUN + 0UL, KVM_GET_REGS + 0UL, KVM_IRQ_LINE + 0UL,
                                KVM_SIGNAL_MSI + 0UL, kvm::ioctls::kSetGsiRouting})
    TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), {SCMP_A1(SCMP_CMP_EQ, request)}));
  // The stdio console puts a terminal on stdin back the way it found it when the VM ends, and
  // stdout's flags when it had to make the shared description non-blocking.
  for (unsigned long request : {TCGETS + 0UL, TCSETS + 0UL}) {
    TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
            {SCMP_A0(SCMP_CMP_EQ, 0), SCMP_A1(SCMP_CMP_EQ, request)}));
  }
  TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl),
          {SCMP_A0(SCMP_CMP_EQ, 1), SCMP_A1(SCMP_CMP_EQ, F_SETFL)}));
  return {};
}

// What setting up a VM adds: see the header.
Result<void> AddSetupRules(scmp_filter_ctx ctx) {
  const int kSyscalls[] = {
      SCMP_SYS(openat),       SCMP_SYS(statx),    SCMP_SYS(fcntl),     SCMP_SYS(ftruncate),
      SCMP_SYS(memfd_create), SCMP_SYS(eventfd2), SCMP_SYS(signalfd4), SCMP_SYS(epoll_create1),
      SCMP_SYS(bind),         SCMP_SYS(listen),
  };
  for (int syscall : kSyscalls) TRY(Add(ctx, SCMP_ACT_ALLOW, syscall));
  // Reading (never setting) the VMM's own limits: vsock sizes its connection cap by RLIMIT_NOFILE.
  TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64),
          {SCMP_A0(SCMP_CMP_EQ, 0), SCMP_A2(SCMP_CMP_EQ, 0)}));
  // Loading the run phase's filter on top of this one (libseccomp sets no_new_privs first).
  TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp)));
  TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), {SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS)}));
  // KVM: creating the VM, its memory, irqchip, ioeventfds, irqfds and vCPUs, and their state.
  TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
          {SCMP_A1(SCMP_CMP_MASKED_EQ, kIoctlTypeMask, static_cast<scmp_datum_t>(KVMIO) << 8)}));
  // Taps for virtio-net.
  for (unsigned long request : {TUNSETIFF + 0UL, TUNSETVNETHDRSZ + 0UL, TUNSETOFFLOAD + 0UL})
    TRY(Add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), {SCMP_A1(SCMP_CMP_EQ, request)}));
  return {};
}

}  // namespace

Result<SeccompMode> ParseSeccompMode(std::string_view text) {
  if (text == "off") return SeccompMode::kOff;
  if (text == "log") return SeccompMode::kLog;
  if (text == "kill" || text == "on") return SeccompMode::kKill;
  return Fail("seccomp " + Quote(text) + ": expected on, off or log");
}

Result<void> InstallSeccompFilter(SeccompMode mode, SeccompPhase phase) {
  if (mode == SeccompMode::kOff) return {};
  uint32_t default_action = mode == SeccompMode::kLog ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
  FilterContext ctx(seccomp_init(default_action), seccomp_release);
  if (!ctx) return Fail("seccomp_init failed");
  TRY(AddRunRules(ctx.get()));
  if (phase == SeccompPhase::kSetup) {
    TRY(AddSetupRules(ctx.get()));
  } else {
    // Nothing running opens files; glibc's malloc tries /proc/sys/vm/overcommit_memory once
    // and copes with a failure.
    TRY(Add(ctx.get(), SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat)));
  }
  int rc = seccomp_load(ctx.get());
  if (rc < 0) return Fail(-rc, "seccomp_load");
  return {};
}

}  // namespace hull::vmm
