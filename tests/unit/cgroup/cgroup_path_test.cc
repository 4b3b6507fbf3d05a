#include <gtest/gtest.h>

#include "container/cgroup_internal.h"

namespace hull::container {
namespace {

TEST(CgroupPathTest, EmptyPathIsDerivedFromTheId) {
  EXPECT_EQ(NormaliseCgroupPath("", "c1").value(), "/hull/c1");
}

TEST(CgroupPathTest, RelativePathsStartAtTheRoot) {
  EXPECT_EQ(NormaliseCgroupPath("pod/c1", "x").value(), "/pod/c1");
  EXPECT_EQ(NormaliseCgroupPath("/pod/c1", "x").value(), "/pod/c1");
}

TEST(CgroupPathTest, RedundantComponentsVanish) {
  EXPECT_EQ(NormaliseCgroupPath("//a/./b//", "x").value(), "/a/b");
  EXPECT_EQ(NormaliseCgroupPath("/a/../b", "x").value(), "/b");
}

TEST(CgroupPathTest, EscapingTheRootIsRejected) {
  for (const char* path : {"/../etc", "a/../..", "../x"}) {
    auto result = NormaliseCgroupPath(path, "x");
    ASSERT_FALSE(result) << path;
    EXPECT_NE(result.error().ToString().find("linux.cgroupsPath"), std::string::npos);
    EXPECT_NE(result.error().ToString().find(".."), std::string::npos);
  }
}

TEST(CgroupPathTest, TheRootItselfIsRejected) {
  for (const char* path : {"/", "a/..", "/./"}) {
    auto result = NormaliseCgroupPath(path, "x");
    ASSERT_FALSE(result) << path;
    EXPECT_NE(result.error().ToString().find("linux.cgroupsPath"), std::string::npos);
  }
}

}  // namespace
}  // namespace hull::container
