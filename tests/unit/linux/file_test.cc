#include "linux/file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <string>

namespace hull::linux {
namespace {

// Runs `body` with the current directory set to `dir`, then goes back.
template <typename Body>
void InDirectory(const std::string& dir, Body body) {
  char saved[PATH_MAX];
  ASSERT_NE(::getcwd(saved, sizeof saved), nullptr);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  body();
  ASSERT_EQ(::chdir(saved), 0);
}

std::string Absolute(const std::string& path) {
  auto absolute = AbsoluteFromCwd(path);
  return absolute ? *absolute : "error: " + absolute.error().ToString();
}

TEST(AbsoluteFromCwdTest, JoinsRelativePathsToTheCurrentDirectory) {
  InDirectory("/tmp", [] {
    EXPECT_EQ(Absolute("a/b"), "/tmp/a/b");
    EXPECT_EQ(Absolute("../x"), "/tmp/../x");  // nothing is resolved
    EXPECT_EQ(Absolute("/abs/olute"), "/abs/olute");
    EXPECT_EQ(Absolute(""), "/tmp");
  });
  InDirectory("/", [] {
    EXPECT_EQ(Absolute("a"), "/a");
    EXPECT_EQ(Absolute(""), "/");
  });
}

}  // namespace
}  // namespace hull::linux
