// `exec` into a running container: arguments, --process files, environment, working directory,
// user, detached execs and their pid files.
#include <unistd.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "support/runtime_test.h"

namespace hull::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ExecTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    id_ = NewId();
    Bundle& bundle = NewBundle(id_);
    bundle.Env("FROM_CONFIG=yes");
    StartLongRunning(id_, bundle);
  }
  std::string id_;
};

TEST_F(ExecTest, RunsArgumentsAndReturnsExitCode) {
  CommandResult echo = Exec(id_, {"echo", "hello", "world"});
  ASSERT_TRUE(echo.ok()) << echo.Describe();
  EXPECT_EQ(echo.out, "hello world\n");
  CommandResult fail = Exec(id_, {"sh", "-c", "exit 7"});
  EXPECT_EQ(fail.exit_code, 7) << fail.Describe();
}

TEST_F(ExecTest, JoinsTheContainerNamespaces) {
  CommandResult hostname = Exec(id_, {"hostname"});
  ASSERT_TRUE(hostname.ok()) << hostname.Describe();
  EXPECT_EQ(Trim(hostname.out), "hull-test");
  // Same pid namespace: the container's init is pid 1 and is visible.
  CommandResult comm = Exec(id_, {"cat", "/proc/1/comm"});
  ASSERT_TRUE(comm.ok()) << comm.Describe();
  EXPECT_EQ(Trim(comm.out), "sleep");
  // Same mount namespace and root: the rootfs's /etc/group, not the host's.
  CommandResult group = Exec(id_, {"cat", "/etc/group"});
  EXPECT_TRUE(Contains(group.out, "extra:x:1001:")) << group.Describe();
}

TEST_F(ExecTest, InheritsConfigEnvAndAddsEnvFlags) {
  CommandResult env = Exec(id_, {"/bin/env"}, {"--env", "ADDED=1", "--env", "SECOND=two words"});
  ASSERT_TRUE(env.ok()) << env.Describe();
  // runc adds --env to the config's environment; crun 1.8 replaces it.
  if (kind() != RuntimeKind::kCrun) {
    EXPECT_TRUE(Contains(env.out, "FROM_CONFIG=yes\n")) << env.out;
    EXPECT_TRUE(Contains(env.out, "PATH=/bin:/sbin:/usr/bin\n")) << env.out;
  }
  EXPECT_TRUE(Contains(env.out, "ADDED=1\n")) << env.out;
  EXPECT_TRUE(Contains(env.out, "SECOND=two words\n")) << env.out;
}

TEST_F(ExecTest, CwdFlag) {
  CommandResult pwd = Exec(id_, {"pwd"}, {"--cwd", "/etc"});
  ASSERT_TRUE(pwd.ok()) << pwd.Describe();
  EXPECT_EQ(Trim(pwd.out), "/etc");
}

TEST_F(ExecTest, UserFlag) {
  CommandResult status = Exec(id_, {"cat", "/proc/self/status"}, {"--user", "1000:1000"});
  ASSERT_TRUE(status.ok()) << status.Describe();
  EXPECT_TRUE(Contains(status.out, "Uid:\t1000\t1000\t1000\t1000")) << status.out;
  EXPECT_TRUE(Contains(status.out, "Gid:\t1000\t1000\t1000\t1000")) << status.out;
  CommandResult id = Exec(id_, {"id", "-u"}, {"-u", "65534"});
  ASSERT_TRUE(id.ok()) << id.Describe();
  EXPECT_EQ(Trim(id.out), "65534");
}

TEST_F(ExecTest, ProcessFile) {
  json process = {{"terminal", false},
                  {"user", {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {1001}}}},
                  {"args", {"sh", "-c", "echo $PROCESS_VAR; pwd; id -u; id -G"}},
                  {"env", {"PATH=/bin", "PROCESS_VAR=from-process-json"}},
                  {"cwd", "/tmp"}};
  std::string path = work() + "/process.json";
  ASSERT_TRUE(WriteFile(path, process.dump()));
  CommandResult exec = Rt({"exec", "--process", path, id_});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  EXPECT_EQ(exec.out, "from-process-json\n/tmp\n1000\n1000 1001\n");
}

TEST_F(ExecTest, ProcessFileCapabilities) {
  json process = {{"terminal", false},
                  {"user", {{"uid", 0}, {"gid", 0}}},
                  {"args", {"grep", "^CapEff", "/proc/self/status"}},
                  {"env", {"PATH=/bin"}},
                  {"cwd", "/"},
                  {"capabilities",
                   {{"bounding", {"CAP_KILL"}}, {"effective", {"CAP_KILL"}},
                    {"permitted", {"CAP_KILL"}}}}};
  std::string path = work() + "/process.json";
  ASSERT_TRUE(WriteFile(path, process.dump()));
  CommandResult exec = Rt({"exec", "--process", path, id_});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  EXPECT_EQ(Trim(exec.out), "CapEff:\t0000000000000020");  // CAP_KILL = 5
}

TEST_F(ExecTest, CapFlagAddsCapability) {
  if (kind() == RuntimeKind::kCrun) GTEST_SKIP() << "crun 1.8 --cap replaces the set; runc adds";
  CommandResult exec = Exec(id_, {"grep", "^CapEff", "/proc/self/status"}, {"--cap", "CAP_CHOWN"});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  // Config default (AUDIT_WRITE, KILL, NET_BIND_SERVICE) plus CHOWN (bit 0).
  EXPECT_EQ(Trim(exec.out), "CapEff:\t0000000020000421");
}

TEST_F(ExecTest, DetachWithPidFile) {
  std::string pid_file = work() + "/exec.pid";
  CommandResult exec =
      Exec(id_, {"sleep", "1000"}, {"--detach", "--pid-file", pid_file});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  std::string pid = Trim(ReadFile(pid_file));
  ASSERT_FALSE(pid.empty());
  // The runtime may return before its child has called execve (crun does): poll.
  std::string comm;
  WaitFor([&] { return (comm = Trim(ReadFile("/proc/" + pid + "/comm"))) == "sleep"; }, 5s);
  EXPECT_EQ(comm, "sleep");
  CommandResult ps = Rt({"ps", "--format", "json", id_});
  EXPECT_TRUE(Contains(ps.out, pid)) << ps.Describe();
}

TEST_F(ExecTest, RelativePidFileIsRelativeToTheCallersDirectory) {
  std::string caller_dir = work() + "/caller";
  ASSERT_TRUE(MakeDirs(caller_dir));
  CommandResult exec =
      Rt({"exec", "--detach", "--pid-file", "exec.pid", id_, "sleep", "1000"}, {.cwd = caller_dir});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  std::string pid = Trim(ReadFile(caller_dir + "/exec.pid"));
  ASSERT_FALSE(pid.empty()) << "no pid file in the caller's directory";
  CommandResult ps = Rt({"ps", "--format", "json", id_});
  EXPECT_TRUE(Contains(ps.out, pid)) << ps.Describe();
}

TEST_F(ExecTest, NonexistentBinaryFails) {
  CommandResult exec = Exec(id_, {"/no/such/binary"});
  EXPECT_NE(exec.exit_code, 0) << exec.Describe();
  EXPECT_TRUE(Contains(exec.err, "/no/such/binary")) << exec.Describe();
  EXPECT_EQ(State(id_)["status"], "running");
}

// A program the kernel cannot execute fails `exec` with the reason, not a silent exit code.
TEST_F(ExecTest, UnexecutableProgramIsReported) {
  ASSERT_TRUE(Exec(id_, {"sh", "-c", "printf garbage > /tmp/garbage; chmod +x /tmp/garbage"}).ok());
  CommandResult exec = Exec(id_, {"/tmp/garbage"});
  EXPECT_NE(exec.exit_code, 0) << exec.Describe();
  EXPECT_TRUE(Contains(exec.err, "/tmp/garbage")) << exec.Describe();
  std::string err = exec.err;
  for (char& c : err) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_TRUE(Contains(err, "exec format error")) << exec.Describe();  // runc: lower case
  EXPECT_EQ(State(id_)["status"], "running");
}

TEST_F(ExecTest, IntoStoppedContainerFails) {
  ASSERT_TRUE(Rt({"kill", id_, "KILL"}).ok());
  ASSERT_EQ(WaitForStatus(id_, "stopped"), "stopped");
  CommandResult exec = Exec(id_, {"true"});
  EXPECT_NE(exec.exit_code, 0) << exec.Describe();
}

TEST_F(ExecTest, IntoUnknownContainerFails) {
  CommandResult exec = Exec("hit-no-such-container", {"true"});
  EXPECT_NE(exec.exit_code, 0) << exec.Describe();
}

TEST_F(ExecTest, ExecProcessLeavesWithTheContainer) {
  CommandResult exec = Exec(id_, {"sleep", "1000"}, {"--detach"});
  ASSERT_TRUE(exec.ok()) << exec.Describe();
  ASSERT_TRUE(Rt({"delete", "--force", id_}).ok());
  // TearDown's leak check finds any process still carrying the container's marker.
}

}  // namespace
}  // namespace hull::testing
