// The runtime under test and a GoogleTest fixture for end-to-end tests of it.
//
// The runtime is $HULL_RUNTIME if set, else the hull-runtime of this build. Pointing HULL_RUNTIME
// at /usr/bin/crun or /usr/sbin/runc runs the same tests against the peers: that is how the tests
// themselves are validated.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/bundle.h"
#include "support/command.h"
#include "support/files.h"
#include "support/hugetlb.h"

namespace hull::testing {

enum class RuntimeKind { kHull, kCrun, kRunc, kOther };

// $HULL_RUNTIME, else <build dir>/src/cli/hull_runtime/hull-runtime.
std::string RuntimeUnderTest();
RuntimeKind KindOf(const std::string& runtime_path);
const char* KindName(RuntimeKind kind);

// One runtime binary with one --root (state directory).
class Runtime {
 public:
  Runtime(std::string path, std::string root) : path_(std::move(path)), root_(std::move(root)) {}
  const std::string& path() const { return path_; }
  const std::string& root() const { return root_; }

  // `runtime --root ROOT args...`
  CommandResult Run(std::vector<std::string> args, const CommandOptions& options = {}) const;
  Command Start(std::vector<std::string> args, const CommandOptions& options = {}) const;
  std::vector<std::string> Argv(std::vector<std::string> args) const;

 private:
  std::string path_;
  std::string root_;
};

// Environment variable every fixture container carries, used to find its processes.
inline constexpr char kContainerMarker[] = "HULL_TEST_CONTAINER";

// Base fixture: a private work directory and --root, a fresh id per container, the hugetlb trick
// when the runtime is crun, and in TearDown a forced delete of every container it made followed by
// leak checks (state left in --root, cgroup directories, mounts under the work directory,
// container processes, runtime processes).
class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Hook for subclasses that need another runtime path than RuntimeUnderTest().
  virtual std::string RuntimePath() { return RuntimeUnderTest(); }

  const Runtime& runtime() const { return *runtime_; }
  RuntimeKind kind() const { return kind_; }
  const std::string& work() const { return work_->path(); }

  // A new container id, remembered for TearDown.
  std::string NewId(const std::string& hint = "c");
  // A bundle with its own busybox rootfs (or the shared one) for container `id`: cgroupsPath
  // "/<id>" and the marker variable are set. Owned by the fixture.
  Bundle& NewBundle(const std::string& id, bool shared_rootfs = false);
  // The busybox rootfs shared by bundles made with shared_rootfs = true.
  const std::string& SharedRootfs();

  // Shortcuts (all through the runtime with our --root).
  CommandResult Rt(std::vector<std::string> args, const CommandOptions& options = {});
  CommandResult Create(const std::string& id, const Bundle& bundle,
                       std::vector<std::string> extra = {});
  // Writes the bundle and runs `run ID` in the foreground.
  CommandResult RunContainer(const std::string& id, Bundle& bundle,
                             std::vector<std::string> extra = {});
  // `state ID` parsed; null JSON if it failed (the failure is in *result if given).
  nlohmann::json State(const std::string& id, CommandResult* result = nullptr);
  // Polls `state` until status matches; returns the last status seen.
  std::string WaitForStatus(const std::string& id, const std::string& status,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Creates and starts a container running `sleep 1000` (or `script`), asserting success.
  void StartLongRunning(const std::string& id, Bundle& bundle);
  // `exec ID args...` output (stdout).
  CommandResult Exec(const std::string& id, std::vector<std::string> args,
                     std::vector<std::string> flags = {});

  // Leak findings for one container id (empty = clean). Does not delete anything.
  std::vector<std::string> LeaksOf(const std::string& id);
  // Skips a test needing behaviour the runtime under test is known not to have.
  bool skip_leak_checks_ = false;

 private:
  std::unique_ptr<TempDir> work_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<HugetlbOnV1> hugetlb_;
  RuntimeKind kind_ = RuntimeKind::kOther;
  std::vector<std::string> ids_;
  std::deque<Bundle> bundles_;
  std::string shared_rootfs_;
  std::mutex mutex_;
};

}  // namespace hull::testing
