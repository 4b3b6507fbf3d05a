#include "linux/mountinfo.h"

#include <gtest/gtest.h>

namespace hull::linux {
namespace {

TEST(MountInfoTest, ParsesFieldsAroundOptionalOnes) {
  auto entries = ParseMountInfo(
      "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev shared:9 master:2 - cgroup2 cgroup2 "
      "rw,nsdelegate\n");
  ASSERT_TRUE(entries) << entries.error().ToString();
  ASSERT_EQ(entries->size(), 1u);
  const MountInfoEntry& e = entries->front();
  EXPECT_EQ(e.mount_id, 35);
  EXPECT_EQ(e.parent_id, 24);
  EXPECT_EQ(e.major, 0u);
  EXPECT_EQ(e.minor, 30u);
  EXPECT_EQ(e.root, "/");
  EXPECT_EQ(e.mount_point, "/sys/fs/cgroup");
  EXPECT_EQ(e.mount_options, "rw,nosuid,nodev");
  EXPECT_EQ(e.optional_fields, (std::vector<std::string>{"shared:9", "master:2"}));
  EXPECT_EQ(e.fs_type, "cgroup2");
  EXPECT_EQ(e.source, "cgroup2");
  EXPECT_EQ(e.super_options, "rw,nsdelegate");
}

TEST(MountInfoTest, DecodesOctalEscapesInPaths) {
  auto entries = ParseMountInfo(
      "40 31 0:37 /a\\134b /mnt/my\\040cgroups\\011x rw - cgroup my\\040src rw,memory\n");
  ASSERT_TRUE(entries) << entries.error().ToString();
  EXPECT_EQ(entries->front().root, "/a\\b");
  EXPECT_EQ(entries->front().mount_point, "/mnt/my cgroups\tx");
  EXPECT_EQ(entries->front().source, "my src");
}

TEST(MountInfoTest, UnescapeKeepsIncompleteEscapes) {
  EXPECT_EQ(UnescapeMountInfoField("a\\04"), "a\\04");
  EXPECT_EQ(UnescapeMountInfoField("a\\9zz"), "a\\9zz");
  EXPECT_EQ(UnescapeMountInfoField("\\040\\040"), "  ");
}

TEST(MountInfoTest, SkipsBlankLinesAndNamesTheBadLine) {
  auto ok = ParseMountInfo("\n1 0 0:1 / / rw - ext4 /dev/sda1 rw\n\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 1u);
  auto bad = ParseMountInfo("1 0 0:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:2 / /x rw ext4\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().ToString().find("mountinfo line 2"), std::string::npos)
      << bad.error().ToString();
}

}  // namespace
}  // namespace hull::linux
