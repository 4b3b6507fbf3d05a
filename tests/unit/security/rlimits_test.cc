#include <gtest/gtest.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "container/security.h"

namespace hull::container {
namespace {

TEST(PlanRlimits, MapsEveryName) {
  const std::vector<std::pair<std::string, int>> names = {
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  std::vector<oci::Rlimit> rlimits;
  for (size_t i = 0; i < names.size(); ++i) {
    rlimits.push_back(oci::Rlimit{names[i].first, 100 + i, 50 + i});
  }
  auto plans = PlanRlimits(rlimits);
  ASSERT_TRUE(plans) << plans.error().ToString();
  ASSERT_EQ(plans->size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ((*plans)[i].resource, names[i].second) << names[i].first;
    EXPECT_EQ((*plans)[i].limit.rlim_max, 100 + i) << names[i].first;
    EXPECT_EQ((*plans)[i].limit.rlim_cur, 50 + i) << names[i].first;
  }
}

TEST(PlanRlimits, UnlimitedIsTheKernelsInfinity) {
  auto plans = PlanRlimits({oci::Rlimit{"RLIMIT_CORE", UINT64_MAX, UINT64_MAX}});
  ASSERT_TRUE(plans) << plans.error().ToString();
  EXPECT_EQ((*plans)[0].limit.rlim_cur, RLIM_INFINITY);
  EXPECT_EQ((*plans)[0].limit.rlim_max, RLIM_INFINITY);
}

TEST(PlanRlimits, SoftAboveHardNamesTheIndex) {
  auto plans =
      PlanRlimits({oci::Rlimit{"RLIMIT_NOFILE", 1024, 1024}, oci::Rlimit{"RLIMIT_NPROC", 5, 10}});
  ASSERT_FALSE(plans);
  EXPECT_EQ(plans.error().ToString(),
            "process.rlimits[1]: soft limit 10 is greater than hard limit 5 for RLIMIT_NPROC");
}

TEST(PlanRlimits, UnknownTypeIsAnError) {
  auto plans = PlanRlimits({oci::Rlimit{"RLIMIT_NOFILE", 1, 1}, oci::Rlimit{"RLIMIT_FOO", 1, 1}});
  ASSERT_FALSE(plans);
  EXPECT_EQ(plans.error().ToString(), "process.rlimits[1].type: unknown rlimit \"RLIMIT_FOO\"");
}

TEST(PlanRlimits, DuplicateTypeIsAnError) {
  auto plans = PlanRlimits({oci::Rlimit{"RLIMIT_NOFILE", 1, 1}, oci::Rlimit{"RLIMIT_CORE", 1, 1},
                            oci::Rlimit{"RLIMIT_NOFILE", 2, 2}});
  ASSERT_FALSE(plans);
  EXPECT_EQ(plans.error().ToString(),
            "process.rlimits[2].type: \"RLIMIT_NOFILE\" is already set by process.rlimits[0]");
}

TEST(PlanRlimits, EmptyIsEmpty) {
  auto plans = PlanRlimits({});
  ASSERT_TRUE(plans);
  EXPECT_TRUE(plans->empty());
}

TEST(PlanPersonality, MapsDomains) {
  auto linux64 = PlanPersonality(oci::Personality{"LINUX", {}});
  ASSERT_TRUE(linux64) << linux64.error().ToString();
  EXPECT_EQ(*linux64, static_cast<unsigned long>(PER_LINUX));
  auto linux32 = PlanPersonality(oci::Personality{"LINUX32", {}});
  ASSERT_TRUE(linux32) << linux32.error().ToString();
  EXPECT_EQ(*linux32, static_cast<unsigned long>(PER_LINUX32));
}

TEST(PlanPersonality, UnknownDomainIsAnError) {
  auto plan = PlanPersonality(oci::Personality{"SVR4", {}});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().ToString(), "linux.personality.domain: unknown domain \"SVR4\"");
}

TEST(PlanPersonality, FlagsAreNotSupported) {
  auto plan = PlanPersonality(oci::Personality{"LINUX", {"ADDR_NO_RANDOMIZE"}});
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().ToString(),
            "linux.personality.flags: personality flags are not supported (got "
            "\"ADDR_NO_RANDOMIZE\")");
}

}  // namespace
}  // namespace hull::container
