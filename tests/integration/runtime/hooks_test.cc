// OCI hooks: when each kind runs, what it receives on stdin (the container state), and what a
// failing or hanging hook does to the container (it fails and leaves nothing behind).
#include <nlohmann/json.hpp>

#include "support/leaks.h"
#include "support/runtime_test.h"

namespace hull::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class HooksTest : public RuntimeTest {
 protected:
  // A host-side hook that appends its name to `order` and stores its stdin in <name>.json.
  void RecordingHook(Bundle& bundle, const std::string& kind) {
    std::string dir = work() + "/hooks";
    MakeDirs(dir);
    bundle.Hook(kind, {"/bin/sh", "-c",
                       "cat > " + dir + "/" + kind + ".json; echo " + kind + " >> " + dir +
                           "/order"});
  }
  std::string HookDir() { return work() + "/hooks"; }
  json HookInput(const std::string& kind) {
    return json::parse(ReadFile(HookDir() + "/" + kind + ".json"), nullptr, false);
  }
};

TEST_F(HooksTest, HooksRunInOrderWithState) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  for (const char* kind : {"prestart", "createRuntime", "poststart", "poststop"})
    RecordingHook(bundle, kind);
  // createContainer: path resolved in the runtime namespace, run in the container's mount
  // namespace before pivot_root, so the host's work directory is still reachable.
  bundle.Hook("createContainer",
              {"/bin/sh", "-c", "cat > " + HookDir() + "/createContainer.json"});
  // startContainer: resolved and run inside the container (its busybox, its /tmp).
  bundle.Hook("startContainer", {"/bin/sh", "-c", "cat > /tmp/startContainer.json"});

  CommandResult create = Create(id, bundle);
  ASSERT_TRUE(create.ok()) << create.Describe();
  // runc 1.1 runs poststart hooks already at create (fixed in runc 1.2); the spec and crun run
  // them after start.
  const bool poststart_at_create = kind() == RuntimeKind::kRunc;
  EXPECT_EQ(ReadFile(HookDir() + "/order"),
            poststart_at_create ? "prestart\ncreateRuntime\npoststart\n" : "prestart\ncreateRuntime\n");
  EXPECT_TRUE(FileExists(HookDir() + "/createContainer.json"));
  EXPECT_FALSE(FileExists(bundle.rootfs() + "/tmp/startContainer.json"));
  int pid = State(id)["pid"];

  for (const char* kind : {"prestart", "createRuntime"}) {
    json input = HookInput(kind);
    ASSERT_TRUE(input.is_object()) << kind << ": " << ReadFile(HookDir() + "/" + kind + ".json");
    EXPECT_EQ(input["id"], id) << kind;
    EXPECT_EQ(input["pid"], pid) << kind;
    EXPECT_EQ(input["bundle"], bundle.path()) << kind;
    EXPECT_TRUE(input.contains("ociVersion")) << kind;
    EXPECT_TRUE(input.contains("status")) << kind;
  }
  json inside = json::parse(ReadFile(HookDir() + "/createContainer.json"), nullptr, false);
  EXPECT_EQ(inside["id"], id);

  ASSERT_TRUE(Rt({"start", id}).ok());
  EXPECT_EQ(WaitForStatus(id, "running"), "running");
  EXPECT_EQ(ReadFile(HookDir() + "/order"), "prestart\ncreateRuntime\npoststart\n");
  EXPECT_TRUE(FileExists(bundle.rootfs() + "/tmp/startContainer.json"));
  json poststart = HookInput("poststart");
  EXPECT_EQ(poststart["id"], id);
  EXPECT_EQ(poststart["pid"], pid);

  ASSERT_TRUE(Rt({"kill", id, "KILL"}).ok());
  ASSERT_EQ(WaitForStatus(id, "stopped"), "stopped");
  ASSERT_TRUE(Rt({"delete", id}).ok());
  EXPECT_EQ(ReadFile(HookDir() + "/order"), "prestart\ncreateRuntime\npoststart\npoststop\n");
  json poststop = HookInput("poststop");
  EXPECT_EQ(poststop["id"], id);
  EXPECT_EQ(poststop["bundle"], bundle.path());
}

TEST_F(HooksTest, HookGetsItsArgsAndEnv) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  std::string out = work() + "/hook-out";
  bundle.config()["hooks"]["prestart"] = {
      {{"path", "/bin/sh"},
       {"args", {"sh", "-c", "echo \"$0 $1 $HOOK_VAR\" > " + out, "first", "second"}},
       {"env", {"HOOK_VAR=hook-env"}}}};
  CommandResult run = RunContainer(id, bundle);
  ASSERT_TRUE(run.ok()) << run.Describe();
  EXPECT_EQ(ReadFile(out), "first second hook-env\n");
}

TEST_F(HooksTest, FailingPrestartHookFailsCreateAndLeavesNothing) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  bundle.Hook("prestart", {"/bin/sh", "-c", "echo hook-said-no >&2; exit 1"});
  CommandResult create = Create(id, bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  // The container must not exist in any state; TearDown checks cgroups, mounts and processes.
  CommandResult state;
  EXPECT_TRUE(State(id, &state).is_null()) << state.Describe();
  EXPECT_TRUE(ListDir(runtime().root()).empty()) << JoinLines(ListDir(runtime().root()));
}

TEST_F(HooksTest, FailingCreateRuntimeHookFailsCreate) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  bundle.Hook("createRuntime", {"/bin/false"});
  CommandResult create = Create(id, bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_TRUE(State(id).is_null());
}

TEST_F(HooksTest, MissingHookBinaryFailsCreate) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Hook("prestart", {"/no/such/hook"});
  CommandResult create = Create(id, bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_TRUE(Contains(create.err, "/no/such/hook")) << create.Describe();
  if (kind() == RuntimeKind::kHull) {
    // execve's own errno, not a guess from an exit status.
    EXPECT_TRUE(
        Contains(create.err, "hooks.prestart[0] \"/no/such/hook\": No such file or directory"))
        << create.Describe();
  }
  EXPECT_TRUE(State(id).is_null());
}

// A hook that runs and exits 127 is a hook that failed, not one that could not be executed.
TEST_F(HooksTest, HookExitStatusIsReported) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Hook("prestart", {"/bin/sh", "-c", "exit 127"});
  CommandResult create = Create(id, bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  if (kind() == RuntimeKind::kHull) {
    EXPECT_TRUE(Contains(create.err, "hooks.prestart[0] \"/bin/sh\": exited with status 127"))
        << create.Describe();
  }
  EXPECT_TRUE(State(id).is_null());
}

TEST_F(HooksTest, HangingHookTimesOut) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  bundle.Hook("prestart", {"/bin/sleep", "60"}, /*timeout_seconds=*/1);
  auto begin = std::chrono::steady_clock::now();
  CommandResult create = Create(id, bundle);
  auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_FALSE(create.timed_out);
  EXPECT_LT(took, 30s) << "the hook's 1 s timeout was not enforced";
  if (kind() == RuntimeKind::kHull) {
    EXPECT_TRUE(Contains(create.err, "hooks.prestart[0] \"/bin/sleep\": timed out after 1 s"))
        << create.Describe();
    EXPECT_FALSE(Contains(create.err, "Connection timed out")) << create.Describe();
  }
  EXPECT_TRUE(State(id).is_null());
}

TEST_F(HooksTest, FailingPoststartHookLeavesContainerDeletable) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"sleep", "1000"});
  bundle.Hook("poststart", {"/bin/false"});
  // The spec makes a failing poststart hook a warning (crun); runc 1.1 fails create (it runs
  // poststart there). Whatever the outcome, the container must be deletable and leave nothing
  // (TearDown checks).
  CommandResult create = Create(id, bundle);
  if (create.ok()) Rt({"start", id});
  CommandResult remove = Rt({"delete", "--force", id});
  EXPECT_TRUE(State(id).is_null()) << remove.Describe();
}

TEST_F(HooksTest, FailingPoststopHookDoesNotBlockDelete) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Hook("poststop", {"/bin/false"});
  CommandResult create = Create(id, bundle);
  ASSERT_TRUE(create.ok()) << create.Describe();
  ASSERT_TRUE(Rt({"start", id}).ok());
  ASSERT_EQ(WaitForStatus(id, "stopped"), "stopped");
  Rt({"delete", id});
  EXPECT_TRUE(State(id).is_null()) << "a failing poststop hook kept the container";
}

}  // namespace
}  // namespace hull::testing
