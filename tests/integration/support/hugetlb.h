// The hybrid-host trick for Debian's crun (see TESTBED.md): crun refuses to run while any
// controller is enabled on the cgroup2 mount of a hybrid host, and here the only such controller
// is hugetlb. Mounting hugetlb on a cgroup v1 hierarchy moves it off cgroup2; unmounting moves it
// back. That is host-global, so:
//   - each user mounts at its own kHugetlbMountBase/<pid>-<n>/hugetlb; the
//     kernel keeps the v1 hierarchy while any of those mounts exists, so overlapping users do not
//     undo each other;
//   - the guard always unmounts (destructor), and tests/integration/support/hugetlb_cleanup.sh
//     (a CTest FIXTURES_CLEANUP test) unmounts what a crashed or killed test process left;
//   - tests that use it carry the CTest RESOURCE_LOCK "hugetlb".
#pragma once

#include <string>

namespace hull::testing {

inline constexpr char kHugetlbMountBase[] = "/run/hull-test-hugetlb";

// True when a cgroup2 mount has controllers enabled while v1 hierarchies exist (a hybrid host
// that crun rejects).
bool HybridWithV2Controllers();

class HugetlbOnV1 {
 public:
  // Mounts only if needed. error() says why it could not.
  HugetlbOnV1();
  ~HugetlbOnV1();
  HugetlbOnV1(const HugetlbOnV1&) = delete;
  HugetlbOnV1& operator=(const HugetlbOnV1&) = delete;

  bool mounted() const { return !mount_point_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::string mount_point_;
  std::string error_;
};

// True if the runtime at `path` is crun (by name or by its --version output).
bool IsCrun(const std::string& runtime_path);

}  // namespace hull::testing
