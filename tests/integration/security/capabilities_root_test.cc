// Applying capability plans for real: each test changes its sets in a forked child. Needs a root
// process whose permitted set holds the capabilities used here; skipped otherwise.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "../../unit/security/forked_child.h"
#include "container/security.h"

namespace hull::container {
namespace {

using ::hull::testing::RunInChild;

constexpr uint64_t Bit(unsigned cap) { return uint64_t{1} << cap; }

// Reads one "CapXxx:\t<hex>" line of /proc/self/status; returns false if absent.
bool ReadCapMask(const char* key, uint64_t* mask) {
  char buffer[4096];
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (n <= 0) return false;
  buffer[n] = '\0';
  char needle[32];
  std::snprintf(needle, sizeof needle, "\n%s:\t", key);
  const char* line = std::strstr(buffer, needle);
  if (!line) return false;
  return std::sscanf(line + std::strlen(needle), "%" SCNx64, mask) == 1;
}

class ApplyCapabilitiesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    uint64_t permitted = 0;
    ASSERT_TRUE(ReadCapMask("CapPrm", &permitted));
    const uint64_t needed = Bit(CAP_CHOWN) | Bit(CAP_SETPCAP) | Bit(CAP_SETUID) | Bit(CAP_SETGID) |
                            Bit(CAP_KILL) | Bit(CAP_NET_BIND_SERVICE);
    if ((permitted & needed) != needed) GTEST_SKIP() << "the permitted set lacks what is tested";
    char pattern[] = "/tmp/hull-caps-XXXXXX";
    int fd = ::mkstemp(pattern);
    ASSERT_GE(fd, 0);
    ::close(fd);
    file_ = pattern;
  }
  void TearDown() override {
    if (!file_.empty()) ::unlink(file_.c_str());
  }

  static CapabilityPlan Plan(const oci::Capabilities& caps) {
    auto plan = PlanCapabilities(caps, "process.capabilities");
    EXPECT_TRUE(plan) << plan.error().ToString();
    return plan ? *plan : CapabilityPlan{};
  }

  std::string file_;
};

TEST_F(ApplyCapabilitiesTest, DroppingChownMakesChownFail) {
  oci::Capabilities caps;
  caps.bounding = {"CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  caps.effective = caps.permitted = caps.bounding;
  const CapabilityPlan plan = Plan(caps);
  const uint64_t expected =
      Bit(CAP_SETUID) | Bit(CAP_SETGID) | Bit(CAP_KILL) | Bit(CAP_NET_BIND_SERVICE);
  auto child = RunInChild([&] {
    int rc = ApplyCapabilities(plan);
    errno = -rc;
    HULL_CHILD_CHECK(rc == 0);
    errno = 0;
    HULL_CHILD_CHECK(::chown(file_.c_str(), 1234, 1234) == -1 && errno == EPERM);
    uint64_t mask = 0;
    HULL_CHILD_CHECK(ReadCapMask("CapBnd", &mask) && mask == expected);
    HULL_CHILD_CHECK(ReadCapMask("CapEff", &mask) && mask == expected);
    HULL_CHILD_CHECK(ReadCapMask("CapPrm", &mask) && mask == expected);
    HULL_CHILD_CHECK(ReadCapMask("CapInh", &mask) && mask == 0);
    HULL_CHILD_CHECK(ReadCapMask("CapAmb", &mask) && mask == 0);
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
  struct stat st;
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
}

TEST_F(ApplyCapabilitiesTest, KeptChownStillWorks) {
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN"};
  caps.effective = caps.permitted = caps.bounding;
  const CapabilityPlan plan = Plan(caps);
  auto child = RunInChild([&] {
    int rc = ApplyCapabilities(plan);
    errno = -rc;
    HULL_CHILD_CHECK(rc == 0);
    HULL_CHILD_CHECK(::chown(file_.c_str(), 1234, 1234) == 0);
    uint64_t mask = 0;
    HULL_CHILD_CHECK(ReadCapMask("CapBnd", &mask) && mask == Bit(CAP_CHOWN));
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
  struct stat st;
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
}

TEST_F(ApplyCapabilitiesTest, EffectiveMayBeSmallerThanPermitted) {
  oci::Capabilities caps;
  caps.bounding = caps.permitted = {"CAP_CHOWN", "CAP_KILL"};
  caps.effective = {"CAP_KILL"};
  const CapabilityPlan plan = Plan(caps);
  auto child = RunInChild([&] {
    int rc = ApplyCapabilities(plan);
    errno = -rc;
    HULL_CHILD_CHECK(rc == 0);
    errno = 0;
    HULL_CHILD_CHECK(::chown(file_.c_str(), 1234, 1234) == -1 && errno == EPERM);
    uint64_t mask = 0;
    HULL_CHILD_CHECK(ReadCapMask("CapEff", &mask) && mask == Bit(CAP_KILL));
    HULL_CHILD_CHECK(ReadCapMask("CapPrm", &mask) && mask == (Bit(CAP_CHOWN) | Bit(CAP_KILL)));
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
}

TEST_F(ApplyCapabilitiesTest, CannotRegainWhatWasDropped) {
  oci::Capabilities first;
  first.bounding = first.effective = first.permitted = {"CAP_SETPCAP", "CAP_CHOWN"};
  oci::Capabilities second = first;
  second.bounding = second.effective = second.permitted = {"CAP_SETPCAP", "CAP_KILL"};
  const CapabilityPlan narrow = Plan(first);
  const CapabilityPlan other = Plan(second);
  auto child = RunInChild([&] {
    int rc = ApplyCapabilities(narrow);
    errno = -rc;
    HULL_CHILD_CHECK(rc == 0);
    HULL_CHILD_CHECK(ApplyCapabilities(other) == -EPERM);
  });
  EXPECT_TRUE(child.ExitedCleanly()) << child.Describe();
}

// The sequence the container's init uses for a non-root process user: keep the permitted set
// across setresuid, then apply; the ambient set carries the capabilities across execve.
TEST_F(ApplyCapabilitiesTest, AmbientCapabilitiesSurviveExecAsNonRoot) {
  oci::Capabilities caps;
  caps.bounding = {"CAP_NET_BIND_SERVICE", "CAP_KILL"};
  caps.effective = caps.permitted = caps.inheritable = caps.ambient = {"CAP_NET_BIND_SERVICE"};
  const CapabilityPlan plan = Plan(caps);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  auto child = RunInChild([&] {
    HULL_CHILD_CHECK(::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0);
    HULL_CHILD_CHECK(::setresgid(1000, 1000, 1000) == 0);
    HULL_CHILD_CHECK(::setgroups(0, nullptr) == 0);
    HULL_CHILD_CHECK(::setresuid(1000, 1000, 1000) == 0);
    uint64_t mask = 0;
    HULL_CHILD_CHECK(ReadCapMask("CapEff", &mask) && mask == 0);  // cleared by setresuid
    int rc = ApplyCapabilities(plan);
    errno = -rc;
    HULL_CHILD_CHECK(rc == 0);
    HULL_CHILD_CHECK(ReadCapMask("CapAmb", &mask) && mask == Bit(CAP_NET_BIND_SERVICE));
    HULL_CHILD_CHECK(::dup2(fds[1], STDOUT_FILENO) == STDOUT_FILENO);
    const char* argv[] = {"cat", "/proc/self/status", nullptr};
    ::execv("/bin/cat", const_cast<char* const*>(argv));
    ::hull::testing::ChildFail("execv /bin/cat", __LINE__, errno);
  });
  ::close(fds[1]);
  std::string status;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) status.append(buffer, n);
  ::close(fds[0]);
  ASSERT_TRUE(child.ExitedCleanly()) << child.Describe();
  const std::string kept = "0000000000000400";  // CAP_NET_BIND_SERVICE (10)
  EXPECT_NE(status.find("Uid:\t1000\t1000\t1000\t1000"), std::string::npos) << status;
  EXPECT_NE(status.find("CapEff:\t" + kept), std::string::npos) << status;
  EXPECT_NE(status.find("CapPrm:\t" + kept), std::string::npos) << status;
  EXPECT_NE(status.find("CapAmb:\t" + kept), std::string::npos) << status;
  EXPECT_NE(status.find("CapBnd:\t0000000000000420"), std::string::npos) << status;
}

}  // namespace
}  // namespace hull::container
