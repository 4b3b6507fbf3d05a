#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "container/security.h"
#include "linux/file.h"
#include "profiles.h"

namespace hull::container {
namespace {

using ::hull::container::testing::CpuMillis;
using ::hull::container::testing::DockerSizedProfile;
using ::hull::container::testing::Profile;
using ::hull::container::testing::Rule;

bool SameProgram(const SeccompPlan& a, const SeccompPlan& b) {
  return a.flags == b.flags && a.program.size() == b.program.size() &&
         std::memcmp(a.program.data(), b.program.data(), a.program.size() * sizeof(sock_filter)) ==
             0;
}

class SeccompCache : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hull-seccomp-cache-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    dir_ = root_ + "/cache";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::set<std::string> Entries() const {
    std::set<std::string> names;
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ignored)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  std::string root_, dir_;
  oci::Seccomp a_ = Profile("SCMP_ACT_ALLOW", {Rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO")});
  oci::Seccomp b_ = Profile("SCMP_ACT_ALLOW", {Rule({"getcwd"}, "SCMP_ACT_ERRNO", {}, 38)});
};

TEST_F(SeccompCache, ReusesTheProgramOfAnIdenticalProfile) {
  auto direct = CompileSeccomp(a_);
  ASSERT_TRUE(direct) << direct.error().ToString();
  auto first = CompileSeccompCached(a_, dir_);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_TRUE(SameProgram(*first, *direct));
  ASSERT_EQ(Entries().size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto second = CompileSeccompCached(a_, dir_);
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_TRUE(SameProgram(*second, *direct));
  EXPECT_EQ(Entries().size(), 1u);
}

TEST_F(SeccompCache, DifferentProfilesGetDifferentEntries) {
  oci::Seccomp with_flag = a_;
  with_flag.flags = {"SECCOMP_FILTER_FLAG_LOG"};
  ASSERT_TRUE(CompileSeccompCached(a_, dir_));
  ASSERT_TRUE(CompileSeccompCached(b_, dir_));
  auto flagged = CompileSeccompCached(with_flag, dir_);
  ASSERT_TRUE(flagged) << flagged.error().ToString();
  EXPECT_EQ(flagged->flags, static_cast<unsigned>(SECCOMP_FILTER_FLAG_LOG));
  EXPECT_EQ(Entries().size(), 3u);
}

TEST_F(SeccompCache, AnEntryForAnotherProfileIsNeverUsed) {
  ASSERT_TRUE(CompileSeccompCached(a_, dir_));
  const std::string a_entry = *Entries().begin();
  ASSERT_TRUE(CompileSeccompCached(b_, dir_));
  std::set<std::string> both = Entries();
  both.erase(a_entry);
  ASSERT_EQ(both.size(), 1u);
  const std::string b_entry = *both.begin();
  // As if the file names collided: b's entry now holds a's program (and key).
  std::filesystem::copy_file(dir_ + "/" + a_entry, dir_ + "/" + b_entry,
                             std::filesystem::copy_options::overwrite_existing);
  auto b = CompileSeccompCached(b_, dir_);
  ASSERT_TRUE(b) << b.error().ToString();
  auto direct = CompileSeccomp(b_);
  ASSERT_TRUE(direct);
  EXPECT_TRUE(SameProgram(*b, *direct));
}

TEST_F(SeccompCache, DamagedEntryIsRecompiledAndRewritten) {
  ASSERT_TRUE(CompileSeccompCached(a_, dir_));
  const std::string entry = dir_ + "/" + *Entries().begin();
  auto whole = linux::ReadFile(entry);
  ASSERT_TRUE(whole);
  ASSERT_TRUE(linux::WriteFile(entry, whole->substr(0, whole->size() - 3)));
  auto again = CompileSeccompCached(a_, dir_);
  ASSERT_TRUE(again) << again.error().ToString();
  auto direct = CompileSeccomp(a_);
  ASSERT_TRUE(direct);
  EXPECT_TRUE(SameProgram(*again, *direct));
  auto rewritten = linux::ReadFile(entry);
  ASSERT_TRUE(rewritten);
  EXPECT_EQ(*rewritten, *whole);
}

TEST_F(SeccompCache, DirectoryWritableByOthersIsNotUsed) {
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  ::testing::internal::CaptureStderr();
  auto plan = CompileSeccompCached(a_, dir_);
  std::string logged = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_TRUE(Entries().empty());
  EXPECT_NE(logged.find("writable by another user"), std::string::npos) << logged;
}

TEST_F(SeccompCache, ErrorsAreStillReported) {
  auto plan = CompileSeccompCached(Profile("SCMP_ACT_FOO", {}), dir_);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().ToString(),
            "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\"");
}

// Prints the cost of a cache hit for a profile the size of Docker's default; not asserted.
TEST_F(SeccompCache, DockerSizedProfileHitTiming) {
  const oci::Seccomp seccomp = DockerSizedProfile();
  double miss_start = CpuMillis();
  ASSERT_TRUE(CompileSeccompCached(seccomp, dir_));
  const double miss = CpuMillis() - miss_start;
  constexpr int kRuns = 15;
  std::vector<double> hits;
  for (int run = 0; run < kRuns; ++run) {
    double start = CpuMillis();
    auto plan = CompileSeccompCached(seccomp, dir_);
    hits.push_back(CpuMillis() - start);
    ASSERT_TRUE(plan) << plan.error().ToString();
  }
  std::sort(hits.begin(), hits.end());
  std::cout << "CompileSeccompCached: miss " << miss << " ms CPU, hit median " << hits[kRuns / 2]
            << " ms CPU (min " << hits.front() << ")\n";
  RecordProperty("hit_cpu_median_us", static_cast<int>(hits[kRuns / 2] * 1000));
}

}  // namespace
}  // namespace hull::container
