// Shared set-up for the tests that drive hull-runtime through real clients (Podman, containerd):
// root, the runtime binary, the hugetlb trick when the runtime is crun, a private work
// directory, and a busybox rootfs to make images from.
#pragma once

#include <unistd.h>

#include <memory>

#include "support/bundle.h"
#include "support/command.h"
#include "support/files.h"
#include "support/hugetlb.h"
#include "support/leaks.h"
#include "support/runtime_test.h"

namespace hull::testing {

class ClientTest : public ::testing::Test {
 protected:
  // `tools` must all be in PATH, else the test is skipped naming the first missing one.
  void SetUpClient(const std::vector<std::string>& tools) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    for (const auto& tool : tools)
      if (FindProgram(tool).empty()) GTEST_SKIP() << tool << " not installed";
    runtime_ = RuntimeUnderTest();
    if (::access(runtime_.c_str(), X_OK) != 0)
      GTEST_SKIP() << "runtime not found: " << runtime_ << " (set HULL_RUNTIME to test a peer)";
    if (BusyboxPath().empty()) GTEST_SKIP() << "busybox-static not installed";
    if (KindOf(runtime_) == RuntimeKind::kCrun) {
      hugetlb_ = std::make_unique<HugetlbOnV1>();
      if (!hugetlb_->error().empty()) GTEST_SKIP() << hugetlb_->error();
    }
    work_ = std::make_unique<TempDir>("hull-client");
    ASSERT_FALSE(work_->path().empty());
    rootfs_ = work_->path() + "/rootfs";
    ASSERT_TRUE(BuildBusyboxRootfs(rootfs_));
  }
  void TearDownClient() {
    work_.reset();
    hugetlb_.reset();
  }

  std::string runtime_;
  std::string rootfs_;
  std::unique_ptr<TempDir> work_;
  std::unique_ptr<HugetlbOnV1> hugetlb_;
};

}  // namespace hull::testing
