// Podman 4 driving the runtime with `podman --runtime PATH`, the way users switch runtimes. Podman
// gets its own storage, run root, tmp dir, containers.conf and cgroup parent under a temporary
// directory, so the host's Podman state is never touched.
#include <nlohmann/json.hpp>

#include "client_test.h"

namespace hull::testing {
namespace {

using namespace std::chrono_literals;

class PodmanTest : public ClientTest {
 protected:
  void SetUp() override {
    SetUpClient({"podman", "tar"});
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string& dir = work_->path();
    cgroup_parent_ = "hull-podman-" + std::to_string(::getpid());
    // TESTBED.md: cgroupfs (no systemd here), file events, and ulimits within this host's hard
    // limits.
    ASSERT_TRUE(WriteFile(dir + "/containers.conf",
                          "[containers]\n"
                          "default_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n"
                          "[engine]\n"
                          "cgroup_manager = \"cgroupfs\"\n"
                          "events_logger = \"file\"\n"
                          "events_logfile_path = \"" + dir + "/events.log\"\n"
                          "[network]\n"
                          "network_config_dir = \"" + dir + "/networks\"\n"));
    ASSERT_TRUE(WriteFile(dir + "/storage.conf", "[storage]\n"
                                                 "driver = \"vfs\"\n"
                                                 "graphroot = \"" + dir + "/storage\"\n"
                                                 "runroot = \"" + dir + "/run\"\n"));
    CommandResult tar = RunCommand({"tar", "-C", rootfs_, "-cf", dir + "/rootfs.tar", "."});
    ASSERT_TRUE(tar.ok()) << tar.Describe();
    CommandResult import = Podman({"import", dir + "/rootfs.tar", kImage});
    ASSERT_TRUE(import.ok()) << import.Describe();
  }

  void TearDown() override {
    if (work_) {
      Podman({"rm", "--all", "--force", "--time", "0"});
      std::vector<std::string> problems;
      for (const auto& process : ProcessesMentioning(work_->path()))
        problems.push_back("process left: " + process);
      for (const auto& mount : MountsUnder(work_->path()))
        problems.push_back("mount left: " + mount);
      for (const auto& dir : CgroupDirsNamed(cgroup_parent_))
        for (const auto& child : ListDir(dir))
          if (child.rfind("libpod-", 0) == 0) problems.push_back("cgroup left: " + dir + "/" + child);
      EXPECT_TRUE(problems.empty()) << JoinLines(problems);
      // Podman leaves the parent (and its conmon child) behind: ours to remove.
      auto failed = RemoveCgroupTrees(cgroup_parent_);
      EXPECT_TRUE(failed.empty()) << JoinLines(failed);
    }
    TearDownClient();
  }

  CommandResult Podman(std::vector<std::string> args, std::chrono::milliseconds timeout = 120s) {
    const std::string& dir = work_->path();
    std::vector<std::string> argv = {"podman",        "--root",           dir + "/storage",
                                     "--runroot",     dir + "/run",       "--tmpdir",
                                     dir + "/tmp",    "--storage-driver", "vfs",
                                     "--cgroup-manager", "cgroupfs",      "--events-backend",
                                     "file",          "--runtime",        runtime_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {.timeout = timeout,
                             .env = {{"CONTAINERS_CONF", dir + "/containers.conf"},
                                     {"CONTAINERS_STORAGE_CONF", dir + "/storage.conf"}}});
  }
  // `podman run` options every test uses.
  std::vector<std::string> RunArgs(std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "--network", "none", "--cgroup-parent",
                                     "/" + cgroup_parent_};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  static constexpr char kImage[] = "localhost/hull-busybox:latest";
  std::string cgroup_parent_;
};

TEST_F(PodmanTest, RunEcho) {
  CommandResult run = Podman(RunArgs({"--rm", kImage, "echo", "hi"}));
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "hi\n");
}

TEST_F(PodmanTest, ExitCodeIsPropagated) {
  CommandResult run = Podman(RunArgs({"--rm", kImage, "sh", "-c", "exit 7"}));
  EXPECT_EQ(run.exit_code, 7) << run.Describe();
}

TEST_F(PodmanTest, EnvUserAndWorkdir) {
  CommandResult run = Podman(RunArgs({"--rm", "--env", "GREETING=hello", "--user", "1000:1000",
                                      "--workdir", "/tmp", kImage, "sh", "-c",
                                      "echo $GREETING; id -u; pwd"}));
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(run.out, "hello\n1000\n/tmp\n");
}

TEST_F(PodmanTest, DetachedExecKillRemove) {
  CommandResult run = Podman(RunArgs({"--detach", "--name", "hull-detached", kImage, "sleep",
                                      "1000"}));
  ASSERT_TRUE(run.ok()) << run.Describe();
  std::string id = Trim(run.out);
  ASSERT_FALSE(id.empty());

  CommandResult exec = Podman({"exec", "hull-detached", "sh", "-c", "echo inside; cat /proc/1/comm"});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  EXPECT_EQ(exec.out, "inside\nsleep\n");

  CommandResult inspect = Podman({"inspect", "--format", "{{.State.Status}}", "hull-detached"});
  EXPECT_EQ(Trim(inspect.out), "running") << inspect.Describe();

  CommandResult kill = Podman({"kill", "hull-detached"});
  ASSERT_TRUE(kill.ok()) << kill.Describe();
  CommandResult wait = Podman({"wait", "hull-detached"});
  EXPECT_TRUE(wait.ok()) << wait.Describe();

  CommandResult remove = Podman({"rm", "hull-detached"});
  ASSERT_TRUE(remove.ok()) << remove.Describe();
  CommandResult listed = Podman({"ps", "--all", "--quiet"});
  EXPECT_TRUE(listed.ok()) << listed.Describe();
  EXPECT_EQ(Trim(listed.out), "");
}

TEST_F(PodmanTest, StopSendsTermThenKill) {
  CommandResult run = Podman(RunArgs({"--detach", "--name", "hull-stop", kImage, "sleep", "1000"}));
  ASSERT_TRUE(run.ok()) << run.Describe();
  // sleep as pid 1 ignores TERM: podman escalates to KILL after the timeout.
  CommandResult stop = Podman({"stop", "--time", "1", "hull-stop"});
  EXPECT_TRUE(stop.ok()) << stop.Describe();
  CommandResult inspect = Podman({"inspect", "--format", "{{.State.Status}}", "hull-stop"});
  EXPECT_EQ(Trim(inspect.out), "exited") << inspect.Describe();
}

}  // namespace
}  // namespace hull::testing
