#include <gtest/gtest.h>
#include <linux/capability.h>

#include <string>
#include <vector>

#include "container/security.h"
#include "linux/file.h"

namespace hull::container {
namespace {

constexpr uint64_t Bit(unsigned cap) { return uint64_t{1} << cap; }

TEST(PlanCapabilities, MapsEachSetIndependently) {
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_CHECKPOINT_RESTORE"};
  caps.effective = {"CAP_KILL"};
  caps.inheritable = {"CAP_SETUID", "CAP_SETGID"};
  caps.permitted = {"CAP_SYS_ADMIN", "CAP_BPF"};
  caps.ambient = {"CAP_NET_BIND_SERVICE"};
  auto plan = PlanCapabilitiesForKernel(caps, "process.capabilities", 40);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->bounding, Bit(CAP_CHOWN) | Bit(CAP_NET_ADMIN) | Bit(CAP_CHECKPOINT_RESTORE));
  EXPECT_EQ(plan->effective, Bit(CAP_KILL));
  EXPECT_EQ(plan->inheritable, Bit(CAP_SETUID) | Bit(CAP_SETGID));
  EXPECT_EQ(plan->permitted, Bit(CAP_SYS_ADMIN) | Bit(CAP_BPF));
  EXPECT_EQ(plan->ambient, Bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(plan->last_cap, 40u);
}

TEST(PlanCapabilities, KnowsEveryCapabilityName) {
  const std::vector<std::pair<std::string, unsigned>> names = {
      {"CAP_CHOWN", 0},
      {"CAP_DAC_OVERRIDE", 1},
      {"CAP_DAC_READ_SEARCH", 2},
      {"CAP_FOWNER", 3},
      {"CAP_FSETID", 4},
      {"CAP_KILL", 5},
      {"CAP_SETGID", 6},
      {"CAP_SETUID", 7},
      {"CAP_SETPCAP", 8},
      {"CAP_LINUX_IMMUTABLE", 9},
      {"CAP_NET_BIND_SERVICE", 10},
      {"CAP_NET_BROADCAST", 11},
      {"CAP_NET_ADMIN", 12},
      {"CAP_NET_RAW", 13},
      {"CAP_IPC_LOCK", 14},
      {"CAP_IPC_OWNER", 15},
      {"CAP_SYS_MODULE", 16},
      {"CAP_SYS_RAWIO", 17},
      {"CAP_SYS_CHROOT", 18},
      {"CAP_SYS_PTRACE", 19},
      {"CAP_SYS_PACCT", 20},
      {"CAP_SYS_ADMIN", 21},
      {"CAP_SYS_BOOT", 22},
      {"CAP_SYS_NICE", 23},
      {"CAP_SYS_RESOURCE", 24},
      {"CAP_SYS_TIME", 25},
      {"CAP_SYS_TTY_CONFIG", 26},
      {"CAP_MKNOD", 27},
      {"CAP_LEASE", 28},
      {"CAP_AUDIT_WRITE", 29},
      {"CAP_AUDIT_CONTROL", 30},
      {"CAP_SETFCAP", 31},
      {"CAP_MAC_OVERRIDE", 32},
      {"CAP_MAC_ADMIN", 33},
      {"CAP_SYSLOG", 34},
      {"CAP_WAKE_ALARM", 35},
      {"CAP_BLOCK_SUSPEND", 36},
      {"CAP_AUDIT_READ", 37},
      {"CAP_PERFMON", 38},
      {"CAP_BPF", 39},
      {"CAP_CHECKPOINT_RESTORE", 40},
  };
  for (const auto& [name, bit] : names) {
    oci::Capabilities caps;
    caps.permitted = {name};
    auto plan = PlanCapabilitiesForKernel(caps, "process.capabilities", 40);
    ASSERT_TRUE(plan) << name << ": " << plan.error().ToString();
    EXPECT_EQ(plan->permitted, Bit(bit)) << name;
  }
}

TEST(PlanCapabilities, UnknownNameNamesFieldAndIndex) {
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_FOO"};
  auto plan = PlanCapabilitiesForKernel(caps, "process.capabilities", 40);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().ToString(),
            "process.capabilities.bounding[2]: unknown capability \"CAP_FOO\"");
}

TEST(PlanCapabilities, NamesAreExactSpelling) {
  oci::Capabilities caps;
  caps.ambient = {"cap_chown"};
  auto plan = PlanCapabilitiesForKernel(caps, "process.capabilities", 40);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().ToString(),
            "process.capabilities.ambient[0]: unknown capability \"cap_chown\"");

  caps.ambient = {"CHOWN"};
  plan = PlanCapabilitiesForKernel(caps, "exec.capabilities", 40);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().ToString(), "exec.capabilities.ambient[0]: unknown capability \"CHOWN\"");
}

TEST(PlanCapabilities, CapabilitiesTheKernelLacksAreDroppedWithAWarning) {
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_PERFMON", "CAP_BPF", "CAP_AUDIT_READ"};
  caps.effective = {"CAP_BPF"};
  ::testing::internal::CaptureStderr();
  auto plan = PlanCapabilitiesForKernel(caps, "process.capabilities", 37);
  std::string logged = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->bounding, Bit(CAP_CHOWN) | Bit(CAP_AUDIT_READ));
  EXPECT_EQ(plan->effective, 0u);
  EXPECT_EQ(plan->last_cap, 37u);
  EXPECT_NE(logged.find("CAP_PERFMON, CAP_BPF"), std::string::npos) << logged;
}

TEST(PlanCapabilities, ReadsTheRunningKernelsLastCapability) {
  auto text = linux::ReadFile("/proc/sys/kernel/cap_last_cap");
  if (!text) GTEST_SKIP() << "no /proc/sys/kernel/cap_last_cap";
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN"};
  auto plan = PlanCapabilities(caps, "process.capabilities");
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->last_cap, std::stoul(*text));
  EXPECT_EQ(plan->bounding, Bit(CAP_CHOWN));
}

TEST(PlanCapabilities, EmptySetsPlanNothing) {
  auto plan = PlanCapabilitiesForKernel(oci::Capabilities{}, "process.capabilities", 40);
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->bounding | plan->effective | plan->inheritable | plan->permitted | plan->ambient,
            0u);
}

}  // namespace
}  // namespace hull::container
