// hull-vmm's seccomp allow-lists, loaded in forked children (a filter cannot be removed): what a
// phase does not list kills the process with SIGSYS, what it lists works, and threads (but no
// processes) can still be created.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>

#include "../security/forked_child.h"
#include "vmm/kvm/ioctls.h"
#include "vmm/seccomp_filter.h"

namespace hull::vmm {
namespace {

using hull::testing::ChildResult;

// Runs `body` in a forked child (forked_child.h: it checks with HULL_CHILD_CHECK) under the given
// phases' filters (in order, stacked) in kill mode.
template <typename Body>
ChildResult RunConfined(std::initializer_list<SeccompPhase> phases, Body body) {
  return hull::testing::RunInChild([&] {
    for (SeccompPhase phase : phases)
      HULL_CHILD_CHECK(InstallSeccompFilter(SeccompMode::kKill, phase));
    body();
  });
}

// A thread starts and finishes (glibc tries clone3 first, gets ENOSYS and uses clone).
bool StartAThread() {
  std::atomic<bool> ran{false};
  std::thread thread([&ran] { ran = true; });
  thread.join();
  return ran;
}

void ExecTrue() {
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  ::execve("/bin/true", argv, nullptr);
}

void ForkAProcess() {
  pid_t pid = ::fork();  // clone without CLONE_THREAD
  if (pid == 0) ::_exit(0);
}

void InetSocket() { ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }

class VmmSeccomp : public ::testing::TestWithParam<SeccompPhase> {};

TEST_P(VmmSeccomp, AllowedCallsWork) {
  ChildResult result = RunConfined({GetParam()}, [] {
    HULL_CHILD_CHECK(::getpid() > 0);
    int unix_socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    HULL_CHILD_CHECK(unix_socket >= 0);
    ::close(unix_socket);
    void* memory =
        ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    HULL_CHILD_CHECK(memory != MAP_FAILED);
    ::munmap(memory, 1 << 20);
    HULL_CHILD_CHECK(StartAThread());
  });
  EXPECT_TRUE(result.ExitedCleanly()) << result.Describe();
}

TEST_P(VmmSeccomp, Clone3FailsWithEnosysSoThatGlibcUsesClone) {
  ChildResult result = RunConfined({GetParam()}, [] {
    clone_args args{};
    args.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    long rc = ::syscall(SYS_clone3, &args, sizeof(args));
    HULL_CHILD_CHECK(rc == -1 && errno == ENOSYS);
  });
  EXPECT_TRUE(result.ExitedCleanly()) << result.Describe();
}

TEST_P(VmmSeccomp, UnlistedCallsKillTheProcess) {
  EXPECT_TRUE(RunConfined({GetParam()}, InetSocket).KilledBy(SIGSYS)) << "socket(AF_INET)";
  EXPECT_TRUE(RunConfined({GetParam()}, ExecTrue).KilledBy(SIGSYS)) << "execve";
  EXPECT_TRUE(RunConfined({GetParam()}, ForkAProcess).KilledBy(SIGSYS)) << "fork";
  EXPECT_TRUE(RunConfined({GetParam()}, [] { ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr); })
                  .KilledBy(SIGSYS))
      << "ptrace";
  EXPECT_TRUE(RunConfined({GetParam()}, [] { ::unshare(CLONE_NEWNET); }).KilledBy(SIGSYS))
      << "unshare";
  EXPECT_TRUE(RunConfined({GetParam()}, [] { ::mount("none", "/tmp", "tmpfs", 0, nullptr); })
                  .KilledBy(SIGSYS))
      << "mount";
  EXPECT_TRUE(RunConfined({GetParam()},
                          [] {
                            // Terminal ioctls other than getting and setting attributes.
                            ::ioctl(0, TIOCSTI, "x");
                          })
                  .KilledBy(SIGSYS))
      << "TIOCSTI";
  EXPECT_TRUE(RunConfined({GetParam()},
                          [] {
                            ::syscall(SYS_clone,
                                      CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWNET,
                                      nullptr, nullptr, nullptr, 0);
                          })
                  .KilledBy(SIGSYS))
      << "clone with namespace flags";
}

INSTANTIATE_TEST_SUITE_P(Phases, VmmSeccomp,
                         ::testing::Values(SeccompPhase::kSetup, SeccompPhase::kRun),
                         [](const auto& info) {
                           return info.param == SeccompPhase::kSetup ? std::string("Setup")
                                                                     : std::string("Run");
                         });

TEST(VmmSeccompSetup, BuildingAVmCanOpenFilesAndCreateMemory) {
  std::string path = ::testing::TempDir() + "/hull-seccomp-setup-" + std::to_string(::getpid());
  ChildResult result = RunConfined({SeccompPhase::kSetup}, [&path] {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    HULL_CHILD_CHECK(fd >= 0);
    ::close(fd);
    int memfd = ::memfd_create("guest", MFD_CLOEXEC);
    HULL_CHILD_CHECK(memfd >= 0 && ::ftruncate(memfd, 1 << 20) == 0);
    ::close(memfd);
    HULL_CHILD_CHECK(::unlink(path.c_str()) == 0);
  });
  EXPECT_TRUE(result.ExitedCleanly()) << result.Describe();
  ::unlink(path.c_str());
}

// vsock sizes its connection cap by the fd limit while the VM is built; changing a limit stays
// forbidden.
TEST(VmmSeccompSetup, LimitsCanBeReadNotSet) {
  ChildResult result = RunConfined({SeccompPhase::kSetup}, [] {
    rlimit limit{};
    HULL_CHILD_CHECK(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  });
  EXPECT_TRUE(result.ExitedCleanly()) << result.Describe();
  EXPECT_TRUE(RunConfined({SeccompPhase::kSetup}, [] {
                rlimit limit{};
                ::getrlimit(RLIMIT_NOFILE, &limit);
                ::setrlimit(RLIMIT_NOFILE, &limit);
              }).KilledBy(SIGSYS));
}

// The run phase goes over the set-up phase (filters stack) and takes away what only set-up needs.
TEST(VmmSeccompRun, ARunningVmOpensNoFiles) {
  for (auto phases :
       {std::initializer_list<SeccompPhase>{SeccompPhase::kRun},
        std::initializer_list<SeccompPhase>{SeccompPhase::kSetup, SeccompPhase::kRun}}) {
    ChildResult result = RunConfined(phases, [] {
      int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
      HULL_CHILD_CHECK(fd < 0 && errno == EACCES);
      HULL_CHILD_CHECK(StartAThread());  // still works over both filters
    });
    EXPECT_TRUE(result.ExitedCleanly()) << result.Describe();
    EXPECT_TRUE(RunConfined(phases, [] { ::memfd_create("guest", MFD_CLOEXEC); }).KilledBy(SIGSYS))
        << "memfd_create";
    EXPECT_TRUE(RunConfined(phases, [] { ::eventfd(0, 0); }).KilledBy(SIGSYS)) << "eventfd";
  }
}

// The filters look at the request number only, so any fd shows what they let through (the
// ioctl itself then fails with ENOTTY).
TEST(VmmSeccompRun, OnlyTheKvmIoctlsOfARunningVm) {
  auto kvm_ioctl = [](unsigned long request) {
    return [request] {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      ::ioctl(fd, request, 0);
    };
  };
  EXPECT_TRUE(RunConfined({SeccompPhase::kSetup}, kvm_ioctl(KVM_CREATE_VM)).ExitedCleanly())
      << "set-up creates the VM through KVM";
  EXPECT_TRUE(
      RunConfined({SeccompPhase::kSetup}, kvm_ioctl(KVM_SET_USER_MEMORY_REGION)).ExitedCleanly());
  EXPECT_TRUE(RunConfined({SeccompPhase::kSetup}, kvm_ioctl(TUNSETPERSIST)).KilledBy(SIGSYS))
      << "tap ioctls by name only";
  EXPECT_TRUE(RunConfined({SeccompPhase::kSetup, SeccompPhase::kRun}, kvm_ioctl(KVM_CREATE_VM))
                  .KilledBy(SIGSYS));
  EXPECT_TRUE(
      RunConfined({SeccompPhase::kRun}, kvm_ioctl(KVM_SET_USER_MEMORY_REGION)).KilledBy(SIGSYS));
  EXPECT_TRUE(RunConfined({SeccompPhase::kRun}, kvm_ioctl(TUNSETIFF)).KilledBy(SIGSYS));
  // The user-space IOAPIC's interrupts and routes while the guest runs.
  EXPECT_TRUE(RunConfined({SeccompPhase::kSetup, SeccompPhase::kRun}, kvm_ioctl(KVM_SIGNAL_MSI))
                  .ExitedCleanly());
  EXPECT_TRUE(RunConfined({SeccompPhase::kSetup, SeccompPhase::kRun},
                          kvm_ioctl(kvm::ioctls::kSetGsiRouting))
                  .ExitedCleanly());
}

}  // namespace
}  // namespace hull::vmm
