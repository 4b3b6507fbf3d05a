// Compiling profiles: the program is produced and errors name the field. Loading them is in
// seccomp_load_test.cc.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "container/security.h"
#include "profiles.h"

namespace hull::container {
namespace {

using ::hull::container::testing::CpuMillis;
using ::hull::container::testing::DockerSizedProfile;
using ::hull::container::testing::Profile;
using ::hull::container::testing::Rule;

bool SameProgram(const SeccompPlan& a, const SeccompPlan& b) {
  return a.program.size() == b.program.size() &&
         std::memcmp(a.program.data(), b.program.data(), a.program.size() * sizeof(sock_filter)) ==
             0;
}

std::string ErrorOf(const oci::Seccomp& seccomp) {
  auto plan = CompileSeccomp(seccomp);
  return plan ? std::string("(compiled)") : plan.error().ToString();
}

TEST(CompileSeccomp, CompilesAProfile) {
  auto plan = CompileSeccomp(
      Profile("SCMP_ACT_ALLOW",
              {Rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO"),
               Rule({"personality"}, "SCMP_ACT_ERRNO", {{0, 0xffffffff, 0, "SCMP_CMP_EQ"}})}));
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_GT(plan->program.size(), 4u);
  EXPECT_EQ(plan->flags, 0u);
}

TEST(CompileSeccomp, UnknownSyscallIsSkipped) {
  auto with_unknown = CompileSeccomp(
      Profile("SCMP_ACT_ALLOW", {Rule({"mkdir", "no_such_syscall", "getcwd"}, "SCMP_ACT_ERRNO")}));
  ASSERT_TRUE(with_unknown) << with_unknown.error().ToString();
  auto without =
      CompileSeccomp(Profile("SCMP_ACT_ALLOW", {Rule({"mkdir", "getcwd"}, "SCMP_ACT_ERRNO")}));
  ASSERT_TRUE(without) << without.error().ToString();
  EXPECT_TRUE(SameProgram(*with_unknown, *without));
}

TEST(CompileSeccomp, RuleWithTheDefaultActionIsSkipped) {
  // libseccomp refuses such a rule; it changes nothing, so it is left out.
  auto redundant = CompileSeccomp(Profile(
      "SCMP_ACT_ERRNO", {Rule({"getpid"}, "SCMP_ACT_ALLOW"), Rule({"mkdir"}, "SCMP_ACT_ERRNO")}));
  ASSERT_TRUE(redundant) << redundant.error().ToString();
  auto minimal = CompileSeccomp(Profile("SCMP_ACT_ERRNO", {Rule({"getpid"}, "SCMP_ACT_ALLOW")}));
  ASSERT_TRUE(minimal) << minimal.error().ToString();
  EXPECT_TRUE(SameProgram(*redundant, *minimal));

  // A different errno is a different action, so it stays.
  oci::SeccompSyscall enosys = Rule({"mkdir"}, "SCMP_ACT_ERRNO");
  enosys.errno_ret = 38;
  auto distinct =
      CompileSeccomp(Profile("SCMP_ACT_ERRNO", {Rule({"getpid"}, "SCMP_ACT_ALLOW"), enosys}));
  ASSERT_TRUE(distinct) << distinct.error().ToString();
  EXPECT_FALSE(SameProgram(*distinct, *minimal));
}

TEST(CompileSeccomp, SameArgumentIndexTwiceCompiles) {
  // libseccomp alone refuses two comparisons of one argument in a rule.
  auto plan = CompileSeccomp(Profile(
      "SCMP_ACT_ALLOW",
      {Rule({"fcntl"}, "SCMP_ACT_ERRNO", {{1, 3, 0, "SCMP_CMP_EQ"}, {1, 9, 0, "SCMP_CMP_EQ"}})}));
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_FALSE(plan->program.empty());
}

TEST(CompileSeccomp, EveryActionAndOperatorIsKnown) {
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS",
                             "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_LOG"}) {
    auto plan = CompileSeccomp(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, action)}));
    EXPECT_TRUE(plan) << action << ": " << plan.error().ToString();
  }
  for (const char* op : {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
                         "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}) {
    auto plan = CompileSeccomp(
        Profile("SCMP_ACT_ALLOW", {Rule({"umask"}, "SCMP_ACT_ERRNO", {{0, 7, 2, op}})}));
    EXPECT_TRUE(plan) << op << ": " << plan.error().ToString();
  }
}

TEST(CompileSeccomp, FlagsAreRecordedForTheRawLoad) {
  oci::Seccomp seccomp = Profile("SCMP_ACT_ALLOW", {Rule({"mkdir"}, "SCMP_ACT_ERRNO")});
  seccomp.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                   "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  auto plan = CompileSeccomp(seccomp);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->flags,
            SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
}

TEST(CompileSeccomp, ListedArchitecturesAreAddedBesideNative) {
  oci::Seccomp seccomp = Profile("SCMP_ACT_ALLOW", {Rule({"mkdir"}, "SCMP_ACT_ERRNO")});
  auto native = CompileSeccomp(seccomp);
  ASSERT_TRUE(native) << native.error().ToString();
  seccomp.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  auto three = CompileSeccomp(seccomp);
  ASSERT_TRUE(three) << three.error().ToString();
  EXPECT_GT(three->program.size(), native->program.size());
  // Naming only a foreign architecture still keeps the native one (as runc and crun do).
  seccomp.architectures = {"SCMP_ARCH_AARCH64"};
  auto foreign = CompileSeccomp(seccomp);
  ASSERT_TRUE(foreign) << foreign.error().ToString();
  EXPECT_GT(foreign->program.size(), native->program.size());
}

TEST(CompileSeccomp, UnknownActionNamesTheField) {
  oci::Seccomp seccomp =
      Profile("SCMP_ACT_ALLOW", {Rule({"a"}, "SCMP_ACT_ERRNO"), Rule({"b"}, "SCMP_ACT_ERRNO"),
                                 Rule({"c"}, "SCMP_ACT_ERRNO"), Rule({"mkdir"}, "SCMP_ACT_FOO")});
  EXPECT_EQ(ErrorOf(seccomp), "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"");
  EXPECT_EQ(ErrorOf(Profile("SCMP_ACT_NOPE", {})),
            "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"");
  EXPECT_EQ(ErrorOf(Profile("", {})), "linux.seccomp.defaultAction: unknown action \"\"");
}

TEST(CompileSeccomp, UnknownOperatorNamesTheField) {
  oci::Seccomp seccomp = Profile(
      "SCMP_ACT_ALLOW",
      {Rule({"socket"}, "SCMP_ACT_ERRNO", {{0, 1, 0, "SCMP_CMP_EQ"}, {1, 2, 0, "SCMP_CMP_FOO"}})});
  EXPECT_EQ(ErrorOf(seccomp),
            "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_FOO\"");
}

TEST(CompileSeccomp, ArgumentIndexAboveFiveIsAnError) {
  oci::Seccomp seccomp =
      Profile("SCMP_ACT_ALLOW", {Rule({"socket"}, "SCMP_ACT_ERRNO", {{6, 1, 0, "SCMP_CMP_EQ"}})});
  EXPECT_EQ(ErrorOf(seccomp),
            "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (a system call has 6 "
            "arguments)");
}

TEST(CompileSeccomp, UnknownArchitectureNamesTheField) {
  oci::Seccomp seccomp = Profile("SCMP_ACT_ALLOW", {});
  seccomp.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
  EXPECT_EQ(ErrorOf(seccomp),
            "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
  seccomp.architectures = {"SCMP_ARCH_x86_64"};
  EXPECT_EQ(ErrorOf(seccomp),
            "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_x86_64\"");
  seccomp.architectures = {"x86_64"};
  EXPECT_EQ(ErrorOf(seccomp), "linux.seccomp.architectures[0]: unknown architecture \"x86_64\"");
}

TEST(CompileSeccomp, UnknownFlagNamesTheField) {
  oci::Seccomp seccomp = Profile("SCMP_ACT_ALLOW", {});
  seccomp.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS"};
  EXPECT_EQ(ErrorOf(seccomp), "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"");
}

TEST(CompileSeccomp, ErrnoRetMustFitSixteenBits) {
  oci::Seccomp seccomp = Profile("SCMP_ACT_ALLOW", {Rule({"mkdir"}, "SCMP_ACT_ERRNO")});
  seccomp.syscalls[0].errno_ret = 70000;
  EXPECT_EQ(ErrorOf(seccomp),
            "linux.seccomp.syscalls[0].action: errnoRet 70000 does not fit 16 bits");
}

TEST(CompileSeccomp, NotifyIsRejectedClearly) {
  EXPECT_EQ(ErrorOf(Profile("SCMP_ACT_NOTIFY", {})),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported yet");
  EXPECT_EQ(ErrorOf(Profile("SCMP_ACT_ALLOW", {Rule({"mkdir"}, "SCMP_ACT_NOTIFY")})),
            "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported yet");
  oci::Seccomp with_listener = Profile("SCMP_ACT_ALLOW", {});
  with_listener.listener_path = "/run/agent.sock";
  EXPECT_EQ(ErrorOf(with_listener),
            "linux.seccomp.listenerPath: SCMP_ACT_NOTIFY is not supported yet");
}

// Prints how long compiling a profile the size of Docker's default takes; not asserted.
TEST(CompileSeccomp, DockerSizedProfileTiming) {
  const oci::Seccomp seccomp = DockerSizedProfile();
  const size_t names = seccomp.syscalls[0].names.size();
  ASSERT_GT(names, 250u);

  // Wall time suffers from whatever else the machine runs; CPU time less so. Both are shown.
  constexpr int kRuns = 15;
  std::vector<double> wall, cpu;
  size_t instructions = 0;
  for (int run = 0; run < kRuns; ++run) {
    auto start = std::chrono::steady_clock::now();
    double cpu_start = CpuMillis();
    auto plan = CompileSeccomp(seccomp);
    cpu.push_back(CpuMillis() - cpu_start);
    wall.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    ASSERT_TRUE(plan) << plan.error().ToString();
    instructions = plan->program.size();
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  std::cout << "CompileSeccomp: " << names << " allowed names, 3 architectures -> " << instructions
            << " BPF instructions; wall median " << wall[kRuns / 2] << " ms (min " << wall.front()
            << "), CPU median " << cpu[kRuns / 2] << " ms (min " << cpu.front() << ")\n";
  RecordProperty("compile_wall_median_us", static_cast<int>(wall[kRuns / 2] * 1000));
  RecordProperty("compile_cpu_median_us", static_cast<int>(cpu[kRuns / 2] * 1000));
  RecordProperty("instructions", static_cast<int>(instructions));
}

}  // namespace
}  // namespace hull::container
