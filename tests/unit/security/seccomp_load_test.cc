// Loading compiled profiles: each test installs a filter in a forked child (seccomp filters are
// process-wide and permanent) with no_new_privs set, so no privilege is needed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "container/security.h"
#include "forked_child.h"
#include "profiles.h"

namespace hull::container {
namespace {

using ::hull::testing::RunInChild;

using ::hull::container::testing::Profile;
using ::hull::container::testing::Rule;

// In the child: no_new_privs (so an unprivileged process may install a filter), then the plan.
void Install(const SeccompPlan& plan) {
  HULL_CHILD_CHECK(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
  int rc = LoadSeccomp(plan);
  errno = -rc;
  HULL_CHILD_CHECK(rc == 0);
}

// A raw call, so glibc's fallbacks do not hide what the filter did.
long Call(long number, long a = 0, long b = 0, long c = 0) { return ::syscall(number, a, b, c); }

class SeccompLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hull-seccomp-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    ::rmdir((dir_ + "/made").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_F(SeccompLoad, ErrnoActionFailsOnlyTheListedCalls) {
  auto plan =
      CompileSeccomp(Profile("SCMP_ACT_ALLOW", {Rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO"),
                                                Rule({"getcwd"}, "SCMP_ACT_ERRNO", {}, 38)}));
  ASSERT_TRUE(plan) << plan.error().ToString();
  const std::string made = dir_ + "/made";
  auto child = RunInChild([&] {
    Install(*plan);
    errno = 0;
    HULL_CHILD_CHECK(::mkdir(made.c_str(), 0755) == -1 && errno == EPERM);
    char buffer[256];
    errno = 0;
    HULL_CHILD_CHECK(Call(SYS_getcwd, reinterpret_cast<long>(buffer), sizeof buffer) == -1 &&
                     errno == 38);
    // Everything else still works.
    HULL_CHILD_CHECK(Call(SYS_getpid) == ::getpid());
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    HULL_CHILD_CHECK(fd >= 0);
    HULL_CHILD_CHECK(::close(fd) == 0);
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
  struct stat st;
  EXPECT_NE(::stat(made.c_str(), &st), 0) << "mkdir got through the filter";
}

TEST_F(SeccompLoad, DefaultErrnoRetAppliesToUnlistedCalls) {
  oci::Seccomp seccomp =
      Profile("SCMP_ACT_ERRNO",
              {Rule({"write", "exit", "exit_group", "getpid", "rt_sigreturn"}, "SCMP_ACT_ALLOW")});
  seccomp.default_errno_ret = EOPNOTSUPP;
  auto plan = CompileSeccomp(seccomp);
  ASSERT_TRUE(plan) << plan.error().ToString();
  auto child = RunInChild([&] {
    Install(*plan);
    errno = 0;
    HULL_CHILD_CHECK(Call(SYS_getppid) == -1 && errno == EOPNOTSUPP);
    errno = 0;
    HULL_CHILD_CHECK(Call(SYS_getuid) == -1 && errno == EOPNOTSUPP);
    HULL_CHILD_CHECK(Call(SYS_getpid) > 0);
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
}

TEST_F(SeccompLoad, ArgumentFilterBlocksOnlyTheMatchingCall) {
  // Deny only the personality query value, as Docker's profile allows only a few personas.
  auto plan = CompileSeccomp(Profile(
      "SCMP_ACT_ALLOW",
      {Rule({"personality"}, "SCMP_ACT_ERRNO", {{0, 0xffffffff, 0, "SCMP_CMP_EQ"}}, EACCES)}));
  ASSERT_TRUE(plan) << plan.error().ToString();
  auto child = RunInChild([&] {
    Install(*plan);
    errno = 0;
    HULL_CHILD_CHECK(Call(SYS_personality, 0xffffffff) == -1 && errno == EACCES);
    HULL_CHILD_CHECK(Call(SYS_personality, PER_LINUX) >= 0);
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
}

TEST_F(SeccompLoad, ComparisonsOfDifferentArgumentsMustAllMatch) {
  auto child = RunInChild([&] {
    int other = ::open("/dev/null", O_RDONLY);  // not CLOEXEC: the plan is built after this
    HULL_CHILD_CHECK(other >= 0);
    int target = ::dup(other);
    HULL_CHILD_CHECK(target >= 0);
    // Built in the child because the descriptor number is part of the rule.
    auto plan = CompileSeccomp(
        Profile("SCMP_ACT_ALLOW", {Rule({"fcntl"}, "SCMP_ACT_ERRNO",
                                        {{0, static_cast<uint64_t>(target), 0, "SCMP_CMP_EQ"},
                                         {1, F_GETFL, 0, "SCMP_CMP_EQ"}},
                                        EACCES)}));
    HULL_CHILD_CHECK(plan.has_value());
    Install(*plan);
    errno = 0;
    HULL_CHILD_CHECK(Call(SYS_fcntl, target, F_GETFL) == -1 && errno == EACCES);
    HULL_CHILD_CHECK(Call(SYS_fcntl, target, F_GETFD) >= 0);
    HULL_CHILD_CHECK(Call(SYS_fcntl, other, F_GETFL) >= 0);
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
}

TEST_F(SeccompLoad, ComparisonsOfTheSameArgumentMatchAny) {
  auto plan = CompileSeccomp(
      Profile("SCMP_ACT_ALLOW",
              {Rule({"fcntl"}, "SCMP_ACT_ERRNO",
                    {{1, F_GETFL, 0, "SCMP_CMP_EQ"}, {1, F_GETOWN, 0, "SCMP_CMP_EQ"}}, EACCES)}));
  ASSERT_TRUE(plan) << plan.error().ToString();
  auto child = RunInChild([&] {
    Install(*plan);
    errno = 0;
    HULL_CHILD_CHECK(Call(SYS_fcntl, 0, F_GETFL) == -1 && errno == EACCES);
    errno = 0;
    HULL_CHILD_CHECK(Call(SYS_fcntl, 0, F_GETOWN) == -1 && errno == EACCES);
    HULL_CHILD_CHECK(Call(SYS_fcntl, 0, F_GETFD) >= 0);
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
}

TEST_F(SeccompLoad, MaskedEqualUsesValueAsMaskAndValueTwoAsResult) {
  // (cmd & 0xff0) == 0x400 matches F_DUPFD_CLOEXEC (1030) but not F_GETFD (1).
  auto plan = CompileSeccomp(Profile(
      "SCMP_ACT_ALLOW",
      {Rule({"fcntl"}, "SCMP_ACT_ERRNO", {{1, 0xff0, 0x400, "SCMP_CMP_MASKED_EQ"}}, EACCES)}));
  ASSERT_TRUE(plan) << plan.error().ToString();
  auto child = RunInChild([&] {
    Install(*plan);
    errno = 0;
    HULL_CHILD_CHECK(Call(SYS_fcntl, 0, F_DUPFD_CLOEXEC, 10) == -1 && errno == EACCES);
    HULL_CHILD_CHECK(Call(SYS_fcntl, 0, F_GETFD) >= 0);
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
}

TEST_F(SeccompLoad, KillActionsKillWithSigsys) {
  for (const char* action : {"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_TRAP"}) {
    auto plan = CompileSeccomp(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, action)}));
    ASSERT_TRUE(plan) << plan.error().ToString();
    auto child = RunInChild([&] {
      Install(*plan);
      Call(SYS_getpid);  // allowed
      Call(SYS_getppid);
      ::hull::testing::ChildFail("getppid returned", __LINE__, errno);
    });
    EXPECT_TRUE(child.KilledBy(SIGSYS)) << action << ": " << child.Describe();
  }
}

TEST_F(SeccompLoad, MultiArchitectureProgramAndFlagsLoad) {
  oci::Seccomp seccomp = Profile("SCMP_ACT_ALLOW", {Rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO")});
  seccomp.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                           "SCMP_ARCH_AARCH64"};
  seccomp.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                   "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  auto plan = CompileSeccomp(seccomp);
  ASSERT_TRUE(plan) << plan.error().ToString();
  const std::string made = dir_ + "/made";
  auto child = RunInChild([&] {
    Install(*plan);
    errno = 0;
    HULL_CHILD_CHECK(::mkdir(made.c_str(), 0755) == -1 && errno == EPERM);
    HULL_CHILD_CHECK(Call(SYS_getpid) > 0);
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
}

TEST_F(SeccompLoad, EmptyProgramIsRefusedWithoutASyscall) {
  auto child = RunInChild([&] { HULL_CHILD_CHECK(LoadSeccomp(SeccompPlan{}) == -EINVAL); });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
}

}  // namespace
}  // namespace hull::container
