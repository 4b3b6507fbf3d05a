// Hierarchy detection from mountinfo texts of the three kinds of host.
#include <gtest/gtest.h>

#include "container/cgroup.h"
#include "container/cgroup_internal.h"

namespace hull::container {
namespace {

// A systemd host booted with the unified hierarchy only (most production hosts today).
constexpr const char* kPureV2 =
    "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
    "24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

// An older systemd host with v1 only: cpu and cpuacct share a hierarchy, name=systemd is a
// named hierarchy without controllers.
constexpr const char* kPureV1 =
    "18 1 8:1 / / rw,relatime shared:1 - xfs /dev/sda1 rw\n"
    "25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup "
    "cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup "
    "cgroup rw,cpu,cpuacct\n"
    "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup "
    "cgroup rw,memory\n"
    "31 25 0:27 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:15 - cgroup "
    "cgroup rw,cpuset,clone_children\n"
    "32 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup "
    "cgroup rw,pids\n"
    // The memory hierarchy again, bind-mounted into a container's rootfs: ignored.
    "90 18 0:26 /hull/c1 /run/hull/c1/rootfs/sys/fs/cgroup/memory ro,relatime - cgroup cgroup "
    "rw,memory\n";

// This test machine: every controller on v1 and a cgroup2 mount holding hugetlb only; one
// hierarchy sits on a path with a space to check that escapes are decoded.
constexpr const char* kHybrid =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blk\\040io rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(CgroupLayoutTest, PureV2) {
  auto layout = ParseCgroupLayout(kPureV2);
  ASSERT_TRUE(layout) << layout.error().ToString();
  EXPECT_EQ(layout->mode, CgroupLayout::Mode::kV2);
  EXPECT_EQ(layout->unified_mount, "/sys/fs/cgroup");
  EXPECT_TRUE(layout->v1_hierarchies.empty());
}

TEST(CgroupLayoutTest, PureV1) {
  auto layout = ParseCgroupLayout(kPureV1);
  ASSERT_TRUE(layout) << layout.error().ToString();
  EXPECT_EQ(layout->mode, CgroupLayout::Mode::kV1);
  EXPECT_EQ(layout->unified_mount, "");
  std::map<std::string, std::vector<std::string>> expected = {
      {"/sys/fs/cgroup/systemd", {"name=systemd"}},
      {"/sys/fs/cgroup/cpu,cpuacct", {"cpu", "cpuacct"}},
      {"/sys/fs/cgroup/memory", {"memory"}},
      {"/sys/fs/cgroup/cpuset", {"cpuset"}},
      {"/sys/fs/cgroup/pids", {"pids"}},
  };
  EXPECT_EQ(layout->v1_hierarchies, expected);
}

TEST(CgroupLayoutTest, HybridDecodesEscapedMountPoints) {
  auto layout = ParseCgroupLayout(kHybrid);
  ASSERT_TRUE(layout) << layout.error().ToString();
  EXPECT_EQ(layout->mode, CgroupLayout::Mode::kHybrid);
  EXPECT_EQ(layout->unified_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(layout->v1_hierarchies.size(), 9u);
  EXPECT_EQ(layout->v1_hierarchies.at("/sys/fs/cgroup/blk io"), std::vector<std::string>{"blkio"});
  EXPECT_EQ(layout->v1_hierarchies.at("/sys/fs/cgroup/systemd"),
            std::vector<std::string>{"name=systemd"});
}

TEST(CgroupLayoutTest, NamedV1HierarchyBesideCgroup2IsPureV2) {
  std::string text = std::string(kPureV2) +
                     "50 35 0:40 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
                     "rw,name=systemd\n";
  auto layout = ParseCgroupLayout(text);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->mode, CgroupLayout::Mode::kV2);
  EXPECT_TRUE(layout->v1_hierarchies.empty());
}

TEST(CgroupLayoutTest, NoCgroupMountIsAnError) {
  EXPECT_FALSE(ParseCgroupLayout("22 1 259:2 / / rw - ext4 /dev/sda rw\n"));
}

TEST(CgroupLayoutTest, DetectsThisHost) {
  auto layout = DetectCgroupLayout();
  ASSERT_TRUE(layout) << layout.error().ToString();
  if (layout->mode != CgroupLayout::Mode::kV1) {
    EXPECT_FALSE(layout->unified_mount.empty());
  }
}

CgroupLayout HybridLayout() {
  CgroupLayout layout = *ParseCgroupLayout(kHybrid);
  layout.unified_controllers = {"hugetlb"};
  return layout;
}

TEST(CgroupLayoutTest, LocatesControllersOnHybridHosts) {
  CgroupLayout layout = HybridLayout();
  auto memory = LocateController(layout, "/hull/c1", "memory");
  ASSERT_TRUE(memory);
  EXPECT_EQ(memory->path, "/sys/fs/cgroup/memory/hull/c1");
  EXPECT_FALSE(memory->v2);
  auto hugetlb = LocateController(layout, "/hull/c1", "hugetlb");
  ASSERT_TRUE(hugetlb);
  EXPECT_EQ(hugetlb->path, "/sys/fs/cgroup/unified/hull/c1");
  EXPECT_TRUE(hugetlb->v2);
  EXPECT_FALSE(LocateController(layout, "/hull/c1", "net_cls"));
}

TEST(CgroupLayoutTest, BlkioIsIoOnV2) {
  CgroupLayout layout = *ParseCgroupLayout(kPureV2);
  layout.unified_controllers = {"cpu", "io", "memory", "pids"};
  auto io = LocateController(layout, "/x", "blkio");
  ASSERT_TRUE(io);
  EXPECT_EQ(io->path, "/sys/fs/cgroup/x");
  EXPECT_TRUE(io->v2);
}

TEST(CgroupLayoutTest, MountPointsNameEachHierarchy) {
  auto cgroup = Cgroup::Open(HybridLayout(), "", "c1", false);
  ASSERT_TRUE(cgroup) << cgroup.error().ToString();
  EXPECT_EQ(cgroup->path(), "/hull/c1");
  std::vector<CgroupMountPoint> mounts = cgroup->MountPoints();
  ASSERT_EQ(mounts.size(), 10u);
  std::map<std::string, CgroupMountPoint> by_name;
  for (const CgroupMountPoint& mount : mounts) by_name[mount.name] = mount;
  EXPECT_EQ(by_name.at("memory").host_path, "/sys/fs/cgroup/memory/hull/c1");
  EXPECT_EQ(by_name.at("blk io").host_path, "/sys/fs/cgroup/blk io/hull/c1");
  EXPECT_FALSE(by_name.at("systemd").unified);
  EXPECT_TRUE(by_name.at("unified").unified);
  EXPECT_EQ(by_name.at("unified").host_path, "/sys/fs/cgroup/unified/hull/c1");

  auto v1 = Cgroup::Open(*ParseCgroupLayout(kPureV1), "/a/b", "c1", false);
  ASSERT_TRUE(v1);
  bool found = false;
  for (const CgroupMountPoint& mount : v1->MountPoints())
    if (mount.name == "cpu,cpuacct") found = mount.host_path == "/sys/fs/cgroup/cpu,cpuacct/a/b";
  EXPECT_TRUE(found);
}

TEST(CgroupLayoutTest, PureV2HasOneUnnamedMountPoint) {
  auto cgroup = Cgroup::Open(*ParseCgroupLayout(kPureV2), "/x/y", "c1", false);
  ASSERT_TRUE(cgroup);
  std::vector<CgroupMountPoint> mounts = cgroup->MountPoints();
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].name, "");
  EXPECT_TRUE(mounts[0].unified);
  EXPECT_EQ(mounts[0].host_path, "/sys/fs/cgroup/x/y");
}

TEST(CgroupLayoutTest, SystemdDriverNeedsSystemd) {
  auto cgroup = Cgroup::Open(*ParseCgroupLayout(kPureV2), "system.slice:hull:c1", "c1", true);
  ASSERT_FALSE(cgroup);
  EXPECT_EQ(cgroup.error().ToString().rfind("--systemd-cgroup: ", 0), 0u)
      << cgroup.error().ToString();
}

}  // namespace
}  // namespace hull::container
