// The v2 file mapping, checked against a fake cgroup2 tree of regular files in a temporary
// directory (this host's cgroups are hybrid, production hosts are mostly pure v2).
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "container/cgroup.h"
#include "container/cgroup_internal.h"
#include "linux/cgroupfs.h"
#include "linux/file.h"

namespace hull::container {
namespace {

class CgroupV2FakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/hull-cgroup-v2-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    root_ = dir_template;
    layout_.mode = CgroupLayout::Mode::kV2;
    layout_.unified_mount = root_;
    layout_.unified_controllers = {"cpuset", "cpu", "io", "memory", "hugetlb", "pids"};
    Put("cgroup.controllers", "cpuset cpu io memory hugetlb pids");
    Put("cgroup.subtree_control", "");
    Put("pod/cgroup.controllers", "cpuset cpu io memory hugetlb pids");
    Put("pod/cgroup.subtree_control", "");
    // The container's directory as the kernel would populate it.
    for (const char* file : {"memory.max", "memory.low", "memory.swap.max", "cpu.weight",
                             "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "cpuset.cpus",
                             "cpuset.mems", "memory.high", "cgroup.procs", "cgroup.freeze"})
      Put(std::string("pod/c1/") + file, "");
    Put("pod/c1/cpu.max", "max 100000");
  }
  void TearDown() override { (void)linux::RemoveAll(root_); }

  void Put(const std::string& relative, const std::string& content) {
    std::string path = root_ + "/" + relative;
    ASSERT_TRUE(linux::MkdirAll(path.substr(0, path.find_last_of('/'))));
    ASSERT_TRUE(linux::WriteFile(path, content));
  }
  std::string Get(const std::string& relative) {
    auto text = linux::ReadCgroupFile(root_ + "/" + relative);
    return text ? *text : "<missing>";
  }

  std::string root_;
  CgroupLayout layout_;
};

TEST_F(CgroupV2FakeTest, ResourcesMapToV2Files) {
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 64 << 20;
  r.memory->reservation = 32 << 20;
  r.memory->swap = 192 << 20;  // memory+swap: 128 MiB of swap
  r.cpu = oci::CpuResources{};
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->cpus = "0-1";
  r.pids = oci::PidsResources{-1};
  r.block_io = oci::BlockIoResources{};
  r.block_io->weight = 500;
  r.block_io->throttle_read_bps_device.push_back({8, 0, 1048576});
  r.hugepage_limits.push_back({"2MB", 4 << 20});
  r.unified["memory.high"] = "50000000";

  auto cgroup = Cgroup::Create(layout_, "/pod/c1", "c1", &r, false);
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  EXPECT_EQ(Get("pod/c1/memory.max"), std::to_string(64 << 20));
  EXPECT_EQ(Get("pod/c1/memory.low"), std::to_string(32 << 20));
  EXPECT_EQ(Get("pod/c1/memory.swap.max"), std::to_string(128 << 20));
  EXPECT_EQ(Get("pod/c1/cpu.weight"), "39");
  EXPECT_EQ(Get("pod/c1/cpu.max"), "50000 100000");  // period kept
  EXPECT_EQ(Get("pod/c1/cpuset.cpus"), "0-1");
  EXPECT_EQ(Get("pod/c1/pids.max"), "max");
  EXPECT_EQ(Get("pod/c1/io.weight"), "4950");
  EXPECT_EQ(Get("pod/c1/io.max"), "8:0 rbps=1048576");
  EXPECT_EQ(Get("pod/c1/hugetlb.2MB.max"), std::to_string(4 << 20));
  EXPECT_EQ(Get("pod/c1/memory.high"), "50000000");
  // Controllers were switched on above the container (the fake keeps the last write).
  EXPECT_EQ(Get("pod/cgroup.subtree_control").rfind("+", 0), 0u);

  // update: only present fields; swap alone is computed against the limit in force.
  oci::Resources update;
  update.memory = oci::MemoryResources{};
  update.memory->swap = 96 << 20;
  update.cpu = oci::CpuResources{};
  update.cpu->period = 200000;
  auto updated = cgroup->Update(update);
  ASSERT_TRUE(updated) << updated.error().ToString();
  EXPECT_EQ(Get("pod/c1/memory.swap.max"), std::to_string(32 << 20));
  EXPECT_EQ(Get("pod/c1/cpu.max"), "50000 200000");
  EXPECT_EQ(Get("pod/c1/memory.max"), std::to_string(64 << 20));
}

TEST_F(CgroupV2FakeTest, UnifiedKeysMustBePlainFileNames) {
  for (const char* key : {"../memory.max", "sub/memory.max", "..", ""}) {
    oci::Resources r;
    r.unified[key] = "1";
    auto cgroup = Cgroup::Create(layout_, "/pod/c1", "c1", &r, false);
    ASSERT_FALSE(cgroup) << key;
    EXPECT_EQ(cgroup.error().ToString().rfind("linux.resources.unified: ", 0), 0u)
        << cgroup.error().ToString();
  }
}

TEST_F(CgroupV2FakeTest, FailureNamesFieldAndFileAndRemovesWhatItMade) {
  oci::Resources r;
  r.pids = oci::PidsResources{5};
  r.cpu = oci::CpuResources{};
  r.cpu->idle = 1;  // no cpu.idle in the fake directory: the write fails
  auto cgroup = Cgroup::Create(layout_, "/pod/new/c2", "c2", &r, false);
  ASSERT_FALSE(cgroup);
  EXPECT_EQ(cgroup.error().ToString(), "linux.resources.cpu.idle: write \"" + root_ +
                                           "/pod/new/c2/cpu.idle\": No such file or directory");
  EXPECT_FALSE(linux::Exists(root_ + "/pod/new"));
  EXPECT_TRUE(linux::Exists(root_ + "/pod"));  // not ours
}

TEST_F(CgroupV2FakeTest, StatsReadV2Files) {
  Put("pod/c1/cpu.stat",
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\n"
      "throttled_usec 30\n");
  Put("pod/c1/memory.current", "4096\n");
  Put("pod/c1/memory.max", "max\n");
  Put("pod/c1/memory.stat", "anon 1024\nfile 2048\n");
  Put("pod/c1/memory.events", "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n");
  Put("pod/c1/pids.current", "2\n");
  Put("pod/c1/pids.max", "max\n");
  Put("pod/c1/io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
  Put("pod/c1/hugetlb.2MB.current", "0\n");
  Put("pod/c1/hugetlb.2MB.rsvd.current", "0\n");
  auto cgroup = Cgroup::Open(layout_, "/pod/c1", "c1", false);
  ASSERT_TRUE(cgroup);
  auto stats = cgroup->Stats();
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(stats->cpu_usage_total, 1500000u);
  EXPECT_EQ(stats->cpu_usage_user, 1000000u);
  EXPECT_EQ(stats->cpu_usage_kernel, 500000u);
  EXPECT_EQ(stats->cpu_throttled_periods, 2u);
  EXPECT_EQ(stats->cpu_throttled_time, 30000u);
  EXPECT_EQ(stats->memory_usage, 4096u);
  EXPECT_EQ(stats->memory_limit, UINT64_MAX);
  EXPECT_EQ(stats->memory_failcnt, 3u);
  EXPECT_EQ(stats->memory_raw.at("file"), 2048u);
  EXPECT_EQ(stats->pids_current, 2u);
  EXPECT_EQ(stats->pids_limit, 0u);
  ASSERT_EQ(stats->io_service_bytes.size(), 2u);
  EXPECT_EQ(stats->io_service_bytes[1].value, 200u);
  EXPECT_EQ(stats->hugetlb_usage.size(), 1u);
  EXPECT_EQ(stats->hugetlb_usage.count("2MB"), 1u);
}

TEST_F(CgroupV2FakeTest, FreezeWaitsForTheKernelsFrozenEvent) {
  Put("pod/c1/cgroup.events", "populated 1\nfrozen 1\n");
  auto cgroup = Cgroup::Open(layout_, "/pod/c1", "c1", false);
  ASSERT_TRUE(cgroup);
  ASSERT_TRUE(cgroup->Freeze());
  EXPECT_EQ(Get("pod/c1/cgroup.freeze"), "1");
  EXPECT_TRUE(cgroup->IsFrozen().value());
  ASSERT_TRUE(cgroup->Thaw());
  EXPECT_EQ(Get("pod/c1/cgroup.freeze"), "0");
}

// memory.events changes for other reasons too: only a grown oom or oom_kill count is an
// out-of-memory event (what `events` turns into runc's {"type":"oom"}).
TEST_F(CgroupV2FakeTest, OomWatchReportsGrownOomCounters) {
  Put("pod/c1/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  auto cgroup = Cgroup::Open(layout_, "/pod/c1", "c1", false);
  ASSERT_TRUE(cgroup);
  auto watch = cgroup->WatchOom();
  ASSERT_TRUE(watch) << watch.error().ToString();
  auto ready = [&] {
    pollfd p{watch->fd(), POLLIN, 0};
    return ::poll(&p, 1, 1000) == 1;
  };
  // Earlier counts are not news.
  Put("pod/c1/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
  ASSERT_TRUE(ready());
  EXPECT_FALSE(watch->Consume().value());
  Put("pod/c1/memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\n");
  ASSERT_TRUE(ready());
  EXPECT_TRUE(watch->Consume().value());
  EXPECT_FALSE(watch->Consume().value()) << "the same count reported twice";
  Put("pod/c1/memory.events", "low 0\nhigh 0\nmax 5\noom 3\noom_kill 2\n");
  ASSERT_TRUE(ready());
  EXPECT_TRUE(watch->Consume().value());
}

TEST_F(CgroupV2FakeTest, OomWatchNeedsTheMemoryController) {
  layout_.unified_controllers = {"cpu", "pids"};
  auto cgroup = Cgroup::Open(layout_, "/pod/c1", "c1", false);
  ASSERT_TRUE(cgroup);
  auto watch = cgroup->WatchOom();
  ASSERT_FALSE(watch);
  EXPECT_EQ(watch.error().code(), ENOTSUP);
}

TEST(OomEventTest, HasRuncsShape) {
  EXPECT_EQ(FormatOomEvent("c\"1"), "{\"type\":\"oom\",\"id\":\"c\\\"1\"}");
}

}  // namespace
}  // namespace hull::container
