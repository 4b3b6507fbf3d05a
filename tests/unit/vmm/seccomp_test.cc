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
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <string>
#include <thread>

#include "vmm/kvm/ioctls.h"
#include "vmm/seccomp_filter.h"

namespace hull::vmm {
namespace {

constexpr int kFilterFailed = 100;

// Runs `body` in a forked child under the given phases' filters (in order, stacked) in kill
// mode; returns the child's wait status. `body` returns the child's exit status.
int RunConfined(std::initializer_list<SeccompPhase> phases, const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (SeccompPhase phase : phases)
      if (!InstallSeccompFilter(SeccompMode::kKill, phase)) ::_exit(kFilterFailed);
    ::_exit(body());
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

bool KilledBySigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }
bool ExitedWith(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

// A thread starts and finishes (glibc tries clone3 first, gets ENOSYS and uses clone).
int StartAThread() {
  std::atomic<bool> ran{false};
  std::thread thread([&ran] { ran = true; });
  thread.join();
  return ran ? 0 : 1;
}

int ExecTrue() {
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  ::execve("/bin/true", argv, nullptr);
  return 2;
}

int ForkAProcess() {
  pid_t pid = ::fork();  // clone without CLONE_THREAD
  if (pid == 0) ::_exit(0);
  return 3;
}

int InetSocket() {
  ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  return 4;
}

class VmmSeccomp : public ::testing::TestWithParam<SeccompPhase> {};

TEST_P(VmmSeccomp, AllowedCallsWork) {
  int status = RunConfined({GetParam()}, [] {
    if (::getpid() <= 0) return 1;
    int unix_socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (unix_socket < 0) return 2;
    ::close(unix_socket);
    void* memory =
        ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return 3;
    ::munmap(memory, 1 << 20);
    return StartAThread() == 0 ? 0 : 4;
  });
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status;
}

TEST_P(VmmSeccomp, Clone3FailsWithEnosysSoThatGlibcUsesClone) {
  int status = RunConfined({GetParam()}, [] {
    clone_args args{};
    args.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    long rc = ::syscall(SYS_clone3, &args, sizeof(args));
    return rc == -1 && errno == ENOSYS ? 0 : 1;
  });
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status;
}

TEST_P(VmmSeccomp, UnlistedCallsKillTheProcess) {
  EXPECT_TRUE(KilledBySigsys(RunConfined({GetParam()}, InetSocket))) << "socket(AF_INET)";
  EXPECT_TRUE(KilledBySigsys(RunConfined({GetParam()}, ExecTrue))) << "execve";
  EXPECT_TRUE(KilledBySigsys(RunConfined({GetParam()}, ForkAProcess))) << "fork";
  EXPECT_TRUE(KilledBySigsys(RunConfined({GetParam()}, [] {
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    return 5;
  }))) << "ptrace";
  EXPECT_TRUE(KilledBySigsys(RunConfined({GetParam()}, [] {
    ::unshare(CLONE_NEWNET);
    return 6;
  }))) << "unshare";
  EXPECT_TRUE(KilledBySigsys(RunConfined({GetParam()}, [] {
    ::mount("none", "/tmp", "tmpfs", 0, nullptr);
    return 7;
  }))) << "mount";
  EXPECT_TRUE(KilledBySigsys(RunConfined({GetParam()}, [] {
    ::ioctl(0, TIOCSTI, "x");  // terminal ioctls other than getting and setting attributes
    return 8;
  }))) << "TIOCSTI";
  EXPECT_TRUE(KilledBySigsys(RunConfined({GetParam()}, [] {
    ::syscall(SYS_clone, CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWNET, nullptr, nullptr,
              nullptr, 0);
    return 9;
  }))) << "clone with namespace flags";
}

INSTANTIATE_TEST_SUITE_P(Phases, VmmSeccomp,
                         ::testing::Values(SeccompPhase::kSetup, SeccompPhase::kRun),
                         [](const auto& info) {
                           return info.param == SeccompPhase::kSetup ? std::string("Setup")
                                                                     : std::string("Run");
                         });

TEST(VmmSeccompSetup, BuildingAVmCanOpenFilesAndCreateMemory) {
  std::string path = ::testing::TempDir() + "/hull-seccomp-setup-" + std::to_string(::getpid());
  int status = RunConfined({SeccompPhase::kSetup}, [&path] {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 1;
    ::close(fd);
    int memfd = ::memfd_create("guest", MFD_CLOEXEC);
    if (memfd < 0 || ::ftruncate(memfd, 1 << 20) < 0) return 2;
    ::close(memfd);
    return ::unlink(path.c_str()) == 0 ? 0 : 3;
  });
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status;
  ::unlink(path.c_str());
}

// vsock sizes its connection cap by the fd limit while the VM is built; changing a limit stays
// forbidden.
TEST(VmmSeccompSetup, LimitsCanBeReadNotSet) {
  int status = RunConfined({SeccompPhase::kSetup}, [] {
    rlimit limit{};
    return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? 0 : 1;
  });
  EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status;
  EXPECT_TRUE(KilledBySigsys(RunConfined({SeccompPhase::kSetup}, [] {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    return 2;
  })));
}

// The run phase goes over the set-up phase (filters stack) and takes away what only set-up needs.
TEST(VmmSeccompRun, ARunningVmOpensNoFiles) {
  for (auto phases :
       {std::initializer_list<SeccompPhase>{SeccompPhase::kRun},
        std::initializer_list<SeccompPhase>{SeccompPhase::kSetup, SeccompPhase::kRun}}) {
    int status = RunConfined(phases, [] {
      int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
      if (fd >= 0 || errno != EACCES) return 1;
      return StartAThread() == 0 ? 0 : 2;  // still works over both filters
    });
    EXPECT_TRUE(ExitedWith(status, 0)) << "status " << status;
    EXPECT_TRUE(KilledBySigsys(RunConfined(phases, [] {
      ::memfd_create("guest", MFD_CLOEXEC);
      return 3;
    }))) << "memfd_create";
    EXPECT_TRUE(KilledBySigsys(RunConfined(phases, [] {
      ::eventfd(0, 0);
      return 4;
    }))) << "eventfd";
  }
}

// The filters look at the request number only, so any fd shows what they let through (the
// ioctl itself then fails with ENOTTY).
TEST(VmmSeccompRun, OnlyTheKvmIoctlsOfARunningVm) {
  auto kvm_ioctl = [](unsigned long request) {
    return [request] {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      ::ioctl(fd, request, 0);
      return 0;
    };
  };
  EXPECT_TRUE(ExitedWith(RunConfined({SeccompPhase::kSetup}, kvm_ioctl(KVM_CREATE_VM)), 0))
      << "set-up creates the VM through KVM";
  EXPECT_TRUE(
      ExitedWith(RunConfined({SeccompPhase::kSetup}, kvm_ioctl(KVM_SET_USER_MEMORY_REGION)), 0));
  EXPECT_TRUE(KilledBySigsys(RunConfined({SeccompPhase::kSetup}, kvm_ioctl(TUNSETPERSIST))))
      << "tap ioctls by name only";
  EXPECT_TRUE(KilledBySigsys(
      RunConfined({SeccompPhase::kSetup, SeccompPhase::kRun}, kvm_ioctl(KVM_CREATE_VM))));
  EXPECT_TRUE(
      KilledBySigsys(RunConfined({SeccompPhase::kRun}, kvm_ioctl(KVM_SET_USER_MEMORY_REGION))));
  EXPECT_TRUE(KilledBySigsys(RunConfined({SeccompPhase::kRun}, kvm_ioctl(TUNSETIFF))));
  // The user-space IOAPIC's interrupts and routes while the guest runs.
  EXPECT_TRUE(ExitedWith(
      RunConfined({SeccompPhase::kSetup, SeccompPhase::kRun}, kvm_ioctl(KVM_SIGNAL_MSI)), 0));
  EXPECT_TRUE(ExitedWith(RunConfined({SeccompPhase::kSetup, SeccompPhase::kRun},
                                     kvm_ioctl(kvm::ioctls::kSetGsiRouting)),
                         0));
}

}  // namespace
}  // namespace hull::vmm
