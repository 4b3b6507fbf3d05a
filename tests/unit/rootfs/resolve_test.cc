// OpenInRoot needs no privileges: the symlink attacks on mount destinations are checked here at
// the level of "which inode do we get", and again with real mounts in the root tests.
#include "linux/resolve.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

namespace hull::linux {
namespace {

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hull-resolve-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/root";
    host_ = dir_ + "/host";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(host_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/tmp").c_str(), 0755), 0);
    root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(root_fd_, 0);
  }
  void TearDown() override {
    ::close(root_fd_);
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  // Whether the O_PATH fd refers to the same inode as `path` on the host.
  static bool SameFile(int fd, const std::string& path) {
    struct stat a, b;
    if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0) return false;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  }
  bool HostDirEmpty() const {
    std::string cmd = "test -z \"$(ls -A '" + host_ + "')\"";
    return std::system(cmd.c_str()) == 0;
  }
  void Symlink(const std::string& target, const std::string& link) {
    ASSERT_EQ(::symlink(target.c_str(), (root_ + link).c_str()), 0) << link;
  }

  std::string dir_, root_, host_;
  int root_fd_ = -1;
};

TEST_F(ResolveTest, FdPath) {
  EXPECT_STREQ(FdPath(0).c_str(), "/proc/self/fd/0");
  EXPECT_STREQ(FdPath(7).c_str(), "/proc/self/fd/7");
  EXPECT_STREQ(FdPath(1234567).c_str(), "/proc/self/fd/1234567");
}

TEST_F(ResolveTest, OpensExistingAndRoot) {
  int fd = OpenInRoot(root_fd_, "/tmp", CreateMode::kNone);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(SameFile(fd, root_ + "/tmp"));
  ::close(fd);
  fd = OpenInRoot(root_fd_, "/", CreateMode::kNone);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(SameFile(fd, root_));
  ::close(fd);
  EXPECT_EQ(OpenInRoot(root_fd_, "/missing", CreateMode::kNone), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(ResolveTest, CreatesDirectoriesAndFiles) {
  int fd = OpenInRoot(root_fd_, "/a/b//c/", CreateMode::kDirectory);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(SameFile(fd, root_ + "/a/b/c"));
  ::close(fd);
  fd = OpenInRoot(root_fd_, "/etc/hosts", CreateMode::kFile, 0600);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/etc/hosts").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_TRUE(SameFile(fd, root_ + "/etc/hosts"));
  ::close(fd);
  // Existing file: opened, not recreated.
  fd = OpenInRoot(root_fd_, "/etc/hosts", CreateMode::kFile, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
}

TEST_F(ResolveTest, AbsoluteSymlinkStaysInside) {
  Symlink(host_, "/evil");  // points at the real host directory by its host path
  int fd = OpenInRoot(root_fd_, "/evil", CreateMode::kDirectory);
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(SameFile(fd, host_));
  EXPECT_TRUE(SameFile(fd, root_ + host_));  // created inside the root instead
  ::close(fd);
  EXPECT_TRUE(HostDirEmpty());
}

TEST_F(ResolveTest, DotDotSymlinkStaysInside) {
  Symlink("../../../../../../../../" + host_, "/tmp/up");
  int fd = OpenInRoot(root_fd_, "/tmp/up/sub", CreateMode::kDirectory);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(SameFile(fd, root_ + host_ + "/sub"));
  ::close(fd);
  EXPECT_TRUE(HostDirEmpty());
  // A plain ".." path cannot climb out either.
  fd = OpenInRoot(root_fd_, "/../../../..", CreateMode::kNone);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(SameFile(fd, root_));
  ::close(fd);
}

TEST_F(ResolveTest, SymlinkedIntermediateComponent) {
  Symlink("/", "/tmp/rootlink");
  Symlink(dir_, "/mid");  // absolute link to the host's parent of root and host
  int fd = OpenInRoot(root_fd_, "/mid/host/x", CreateMode::kDirectory);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(SameFile(fd, root_ + dir_ + "/host/x"));
  ::close(fd);
  EXPECT_TRUE(HostDirEmpty());
  fd = OpenInRoot(root_fd_, "/tmp/rootlink/tmp", CreateMode::kNone);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(SameFile(fd, root_ + "/tmp"));
  ::close(fd);
}

TEST_F(ResolveTest, DanglingFileSymlinkCreatesInside) {
  Symlink(host_ + "/file", "/etcfile");
  int fd = OpenInRoot(root_fd_, "/etcfile", CreateMode::kFile, 0644);
  ASSERT_GE(fd, 0);
  struct stat st;
  EXPECT_EQ(::stat((root_ + host_ + "/file").c_str(), &st), 0);
  ::close(fd);
  EXPECT_TRUE(HostDirEmpty());
}

TEST_F(ResolveTest, SymlinkLoopFails) {
  Symlink("/loop2", "/loop1");
  Symlink("/loop1", "/loop2");
  EXPECT_EQ(OpenInRoot(root_fd_, "/loop1/x", CreateMode::kDirectory), -1);
  EXPECT_EQ(errno, ELOOP);
}

TEST_F(ResolveTest, MagicLinksAreRefused) {
  Symlink("/proc/self/root", "/proclink");  // inside the root this is a dangling symlink
  ASSERT_EQ(::mkdir((root_ + "/proc").c_str(), 0755), 0);
  int fd = OpenInRoot(root_fd_, "/proclink", CreateMode::kNone);
  EXPECT_EQ(fd, -1);
}

TEST_F(ResolveTest, ParentInRoot) {
  char name[256];
  Symlink(host_, "/dev");
  int fd = OpenParentInRoot(root_fd_, "/dev/null", name, sizeof name);
  ASSERT_GE(fd, 0);
  EXPECT_STREQ(name, "null");
  EXPECT_TRUE(SameFile(fd, root_ + host_));
  ::close(fd);
  EXPECT_EQ(OpenParentInRoot(root_fd_, "/", name, sizeof name), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_TRUE(HostDirEmpty());
}

}  // namespace
}  // namespace hull::linux
