// containerd 1.6 with its runc shim (io.containerd.runc.v2) calling the runtime through
// `ctr run --runc-binary PATH`, the way Docker and Kubernetes nodes use a runc replacement.
// containerd runs on its own config, root, state directory and socket under a temporary
// directory and is stopped at the end; nothing of the host's containerd is touched.
#include <signal.h>

#include <thread>

#include "client_test.h"

#ifndef HULL_SOURCE_DIR
#error "HULL_SOURCE_DIR must name the source directory"
#endif

namespace hull::testing {
namespace {

using namespace std::chrono_literals;

class ContainerdTest : public ClientTest {
 protected:
  void SetUp() override {
    SetUpClient({"containerd", "ctr", "containerd-shim-runc-v2", "umoci", "skopeo"});
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string& dir = work_->path();
    socket_ = dir + "/containerd.sock";
    namespace_ = "hull-" + std::to_string(::getpid());
    ASSERT_TRUE(WriteFile(
        dir + "/config.toml",
        "version = 2\n"
        "root = \"" + dir + "/root\"\n"
        "state = \"" + dir + "/state\"\n"
        "disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.snapshotter.v1.btrfs\","
        " \"io.containerd.snapshotter.v1.zfs\", \"io.containerd.snapshotter.v1.devmapper\","
        " \"io.containerd.snapshotter.v1.aufs\", \"io.containerd.internal.v1.tracing\","
        " \"io.containerd.tracing.processor.v1.otlp\"]\n"
        "[grpc]\n  address = \"" + socket_ + "\"\n"
        "[ttrpc]\n  address = \"" + socket_ + ".ttrpc\"\n"
        "[debug]\n  address = \"\"\n"
        "[metrics]\n  address = \"\"\n"));
    daemon_ = std::make_unique<Command>(
        Command::Start({"containerd", "--config", dir + "/config.toml"}));
    auto deadline = std::chrono::steady_clock::now() + 30s;
    bool up = false;
    while (!up && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      up = FileExists(socket_) && Ctr({"version"}, 10s).ok();
    }
    ASSERT_TRUE(up) << "containerd did not come up:\n" << daemon_->CurrentErr();

    CommandResult image = RunCommand({std::string(HULL_SOURCE_DIR) +
                                          "/scripts/clients/build-oci-image.sh",
                                      rootfs_, dir + "/image.tar", kImage, "/bin/sh"},
                                     {.timeout = 120s});
    ASSERT_TRUE(image.ok()) << image.Describe();
    CommandResult import = Ctr({"images", "import", dir + "/image.tar"});
    ASSERT_TRUE(import.ok()) << import.Describe();
  }

  void TearDown() override {
    if (daemon_) {
      CommandResult tasks = Ctr({"tasks", "ls", "-q"});
      for (const auto& id : SplitLines(tasks.out)) {
        if (Trim(id).empty()) continue;
        Ctr({"tasks", "kill", "-s", "KILL", Trim(id)});
        Ctr({"tasks", "rm", "-f", Trim(id)});
      }
      CommandResult containers = Ctr({"containers", "ls", "-q"});
      for (const auto& id : SplitLines(containers.out))
        if (!Trim(id).empty()) Ctr({"containers", "rm", Trim(id)});
      // Stop the daemon: TERM, then KILL after 15 s.
      daemon_->Signal(SIGTERM);
      CommandResult stopped = daemon_->Wait(15s);
      EXPECT_FALSE(stopped.timed_out) << "containerd ignored SIGTERM";
      daemon_.reset();
      // Shims exit once their tasks are deleted; give them a moment.
      std::vector<std::string> problems;
      auto deadline = std::chrono::steady_clock::now() + 10s;
      do {
        problems.clear();
        for (const auto& process : ProcessesMentioning(work_->path()))
          problems.push_back("process left: " + process);
        for (const auto& mount : MountsUnder(work_->path()))
          problems.push_back("mount left: " + mount);
        if (!problems.empty()) std::this_thread::sleep_for(100ms);
      } while (!problems.empty() && std::chrono::steady_clock::now() < deadline);
      EXPECT_TRUE(problems.empty()) << JoinLines(problems);
      for (const auto& dir : CgroupDirsNamed(namespace_))
        for (const auto& child : ListDir(dir))
          if (FileExists(dir + "/" + child + "/cgroup.procs"))
            ADD_FAILURE() << "container cgroup left: " << dir << "/" << child;
      // ctr puts containers in /<namespace>/<id>: the namespace level is ours to remove.
      auto failed = RemoveCgroupTrees(namespace_);
      EXPECT_TRUE(failed.empty()) << JoinLines(failed);
    }
    TearDownClient();
  }

  CommandResult Ctr(std::vector<std::string> args, std::chrono::milliseconds timeout = 120s) {
    std::vector<std::string> argv = {"ctr", "--address", socket_, "--namespace", namespace_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {.timeout = timeout});
  }
  std::vector<std::string> RunArgs(std::vector<std::string> options, const std::string& id,
                                   std::vector<std::string> command) {
    std::vector<std::string> args = {"run", "--runtime", "io.containerd.runc.v2",
                                     "--runc-binary", runtime_};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(kImage);
    args.push_back(id);
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }

  static constexpr char kImage[] = "docker.io/library/hull-busybox:latest";
  std::string socket_;
  std::string namespace_;
  std::unique_ptr<Command> daemon_;
};

TEST_F(ContainerdTest, RunEcho) {
  CommandResult run = Ctr(RunArgs({"--rm"}, "hull-echo", {"echo", "hi"}));
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "hi\n");
}

TEST_F(ContainerdTest, ExitCodeIsPropagated) {
  CommandResult run = Ctr(RunArgs({"--rm"}, "hull-exit", {"sh", "-c", "exit 5"}));
  EXPECT_EQ(run.exit_code, 5) << run.Describe();
}

TEST_F(ContainerdTest, DetachedExecKillRemove) {
  CommandResult run = Ctr(RunArgs({"--detach"}, "hull-detached", {"sleep", "1000"}));
  ASSERT_TRUE(run.ok()) << run.Describe();

  CommandResult exec =
      Ctr({"tasks", "exec", "--exec-id", "probe", "hull-detached", "sh", "-c", "echo inside; cat /proc/1/comm"});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  EXPECT_EQ(exec.out, "inside\nsleep\n");

  CommandResult exec_exit =
      Ctr({"tasks", "exec", "--exec-id", "probe2", "hull-detached", "sh", "-c", "exit 4"});
  EXPECT_EQ(exec_exit.exit_code, 4) << exec_exit.Describe();

  CommandResult ps = Ctr({"tasks", "ps", "hull-detached"});
  EXPECT_TRUE(ps.ok()) << ps.Describe();

  CommandResult pause = Ctr({"tasks", "pause", "hull-detached"});
  EXPECT_TRUE(pause.ok()) << pause.Describe();
  CommandResult resume = Ctr({"tasks", "resume", "hull-detached"});
  EXPECT_TRUE(resume.ok()) << resume.Describe();

  CommandResult kill = Ctr({"tasks", "kill", "--signal", "KILL", "hull-detached"});
  ASSERT_TRUE(kill.ok()) << kill.Describe();
  std::string status;
  for (int i = 0; i < 100 && !Contains(status, "STOPPED"); ++i) {
    std::this_thread::sleep_for(50ms);
    status = Ctr({"tasks", "ls"}).out;
  }
  EXPECT_TRUE(Contains(status, "STOPPED")) << status;
  CommandResult task_rm = Ctr({"tasks", "rm", "hull-detached"});
  EXPECT_TRUE(task_rm.ok()) << task_rm.Describe();
  CommandResult container_rm = Ctr({"containers", "rm", "hull-detached"});
  EXPECT_TRUE(container_rm.ok()) << container_rm.Describe();
  EXPECT_EQ(Trim(Ctr({"containers", "ls", "-q"}).out), "");
}

}  // namespace
}  // namespace hull::testing
