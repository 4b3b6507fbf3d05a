#include "support/runtime_test.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "support/leaks.h"

#ifndef HULL_BINARY_DIR
#error "HULL_BINARY_DIR must name the build directory"
#endif

namespace hull::testing {

std::string RuntimeUnderTest() {
  const char* configured = std::getenv("HULL_RUNTIME");
  if (configured && *configured) return configured;
  return HULL_BINARY_DIR "/src/cli/hull_runtime/hull-runtime";
}

RuntimeKind KindOf(const std::string& runtime_path) {
  std::string base = runtime_path.substr(runtime_path.rfind('/') + 1);
  if (base == "hull-runtime") return RuntimeKind::kHull;
  if (base == "crun") return RuntimeKind::kCrun;
  if (base == "runc") return RuntimeKind::kRunc;
  CommandResult version = RunCommand({runtime_path, "--version"}, {.timeout = std::chrono::seconds(10)});
  if (version.out.rfind("crun", 0) == 0) return RuntimeKind::kCrun;
  if (version.out.rfind("runc", 0) == 0) return RuntimeKind::kRunc;
  if (version.out.rfind("hull", 0) == 0) return RuntimeKind::kHull;
  return RuntimeKind::kOther;
}

const char* KindName(RuntimeKind kind) {
  switch (kind) {
    case RuntimeKind::kHull: return "hull-runtime";
    case RuntimeKind::kCrun: return "crun";
    case RuntimeKind::kRunc: return "runc";
    case RuntimeKind::kOther: return "other";
  }
  return "other";
}

std::vector<std::string> Runtime::Argv(std::vector<std::string> args) const {
  std::vector<std::string> argv = {path_, "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult Runtime::Run(std::vector<std::string> args, const CommandOptions& options) const {
  return RunCommand(Argv(std::move(args)), options);
}

Command Runtime::Start(std::vector<std::string> args, const CommandOptions& options) const {
  return Command::Start(Argv(std::move(args)), options);
}

void RuntimeTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string path = RuntimePath();
  if (::access(path.c_str(), X_OK) != 0)
    GTEST_SKIP() << "runtime not found: " << path
                 << " (hull-runtime not built? set HULL_RUNTIME=/usr/bin/crun to test a peer)";
  if (BusyboxPath().empty()) GTEST_SKIP() << "busybox-static not installed";
  kind_ = KindOf(path);
  if (kind_ == RuntimeKind::kCrun) {
    hugetlb_ = std::make_unique<HugetlbOnV1>();
    if (!hugetlb_->error().empty())
      GTEST_SKIP() << "crun cannot run on this hybrid host: " << hugetlb_->error();
  }
  work_ = std::make_unique<TempDir>("hull-it");
  ASSERT_FALSE(work_->path().empty());
  MakeDirs(work_->path() + "/state", 0700);
  runtime_ = std::make_unique<Runtime>(path, work_->path() + "/state");
}

void RuntimeTest::TearDown() {
  if (!runtime_) return;
  std::vector<std::string> problems;
  for (const auto& id : ids_) {
    CommandResult state = runtime_->Run({"state", id}, {.timeout = std::chrono::seconds(30)});
    if (state.ok()) {
      // Still known to the runtime: a test that failed half-way, or one that keeps it on purpose.
      runtime_->Run({"delete", "--force", id}, {.timeout = std::chrono::seconds(60)});
    }
  }
  // Processes die asynchronously after SIGKILL; give them a moment before calling them leaks.
  WaitFor(
      [&] {
        problems.clear();
        if (skip_leak_checks_) return true;
        for (const auto& id : ids_) {
          auto found = LeaksOf(id);
          problems.insert(problems.end(), found.begin(), found.end());
        }
        for (const auto& entry : ListDir(runtime_->root()))
          problems.push_back("state left in --root: " + runtime_->root() + "/" + entry);
        for (const auto& process : ProcessesMentioning(runtime_->root()))
          problems.push_back("runtime process left: " + process);
        return problems.empty();
      },
      std::chrono::seconds(5));
  EXPECT_TRUE(problems.empty()) << "left behind after the test:\n" << JoinLines(problems);
  // Last resort so one failing test does not poison the next ones: kill marked processes and
  // remove cgroup directories (children first).
  for (const auto& id : ids_) {
    for (const auto& process : ProcessesMarked(std::string(kContainerMarker) + "=" + id, id)) {
      pid_t pid = std::stoi(process.substr(4));
      ::kill(pid, SIGKILL);
    }
    auto dirs = CgroupDirsNamed(id);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
  }
  runtime_.reset();
  bundles_.clear();
  work_.reset();
  hugetlb_.reset();
}

std::vector<std::string> RuntimeTest::LeaksOf(const std::string& id) {
  std::vector<std::string> problems;
  for (const auto& dir : CgroupDirsNamed(id)) problems.push_back("cgroup left: " + dir);
  for (const auto& process : ProcessesMarked(std::string(kContainerMarker) + "=" + id, id))
    problems.push_back("container process left: " + process);
  for (const auto& mount : MountsUnder(work_->path())) problems.push_back("mount left: " + mount);
  return problems;
}

std::string RuntimeTest::NewId(const std::string& hint) {
  static std::atomic<int> counter{0};
  std::string id = "hit-" + hint + "-" + std::to_string(::getpid()) + "-" +
                   std::to_string(counter++);
  std::lock_guard lock(mutex_);
  ids_.push_back(id);
  return id;
}

const std::string& RuntimeTest::SharedRootfs() {
  std::lock_guard lock(mutex_);
  if (shared_rootfs_.empty()) {
    std::string path = work_->path() + "/shared-rootfs";
    if (BuildBusyboxRootfs(path)) shared_rootfs_ = path;
  }
  return shared_rootfs_;
}

Bundle& RuntimeTest::NewBundle(const std::string& id, bool shared_rootfs) {
  std::string rootfs = shared_rootfs ? SharedRootfs() : "";
  std::lock_guard lock(mutex_);
  bundles_.emplace_back(work_->path() + "/bundles/" + id, rootfs);
  Bundle& bundle = bundles_.back();
  EXPECT_TRUE(bundle.ok()) << "could not build bundle " << bundle.path();
  bundle.CgroupsPath("/" + id).Env(std::string(kContainerMarker) + "=" + id);
  return bundle;
}

CommandResult RuntimeTest::Rt(std::vector<std::string> args, const CommandOptions& options) {
  return runtime_->Run(std::move(args), options);
}

CommandResult RuntimeTest::Create(const std::string& id, const Bundle& bundle,
                                  std::vector<std::string> extra) {
  EXPECT_TRUE(bundle.Write());
  std::vector<std::string> args = {"create", "--bundle", bundle.path()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(id);
  return Rt(args);
}

CommandResult RuntimeTest::RunContainer(const std::string& id, Bundle& bundle,
                                        std::vector<std::string> extra) {
  EXPECT_TRUE(bundle.Write());
  std::vector<std::string> args = {"run", "--bundle", bundle.path()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(id);
  return Rt(args);
}

nlohmann::json RuntimeTest::State(const std::string& id, CommandResult* result) {
  CommandResult state = Rt({"state", id});
  if (result) *result = state;
  if (!state.ok()) return nullptr;
  return nlohmann::json::parse(state.out, nullptr, /*allow_exceptions=*/false);
}

std::string RuntimeTest::WaitForStatus(const std::string& id, const std::string& status,
                                       std::chrono::milliseconds timeout) {
  std::string seen;
  WaitFor(
      [&] {
        nlohmann::json state = State(id);
        seen = state.is_object() ? state.value("status", "") : "(no state)";
        return seen == status;
      },
      timeout);
  return seen;
}

void RuntimeTest::StartLongRunning(const std::string& id, Bundle& bundle) {
  if (bundle.process()["args"] == nlohmann::json({"true"})) bundle.Args({"sleep", "1000"});
  CommandResult create = Create(id, bundle);
  ASSERT_TRUE(create.ok()) << create.Describe();
  CommandResult start = Rt({"start", id});
  ASSERT_TRUE(start.ok()) << start.Describe();
  ASSERT_EQ(WaitForStatus(id, "running"), "running");
}

CommandResult RuntimeTest::Exec(const std::string& id, std::vector<std::string> args,
                                std::vector<std::string> flags) {
  std::vector<std::string> argv = {"exec"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(id);
  argv.insert(argv.end(), args.begin(), args.end());
  return Rt(argv);
}

}  // namespace hull::testing
