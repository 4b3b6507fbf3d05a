// Bad input must fail cleanly: a non-zero exit, a message that names the offending field or path
// (wording differs between runtimes, so only the name is checked), and nothing left behind
// (TearDown checks state, cgroups, mounts and processes).
#include <csignal>
#include <nlohmann/json.hpp>

#include "support/leaks.h"
#include "support/runtime_test.h"

namespace hull::testing {
namespace {

using nlohmann::json;

class BadInputTest : public RuntimeTest {
 protected:
  void ExpectNothingLeft(const std::string& id) {
    CommandResult state;
    EXPECT_TRUE(State(id, &state).is_null()) << state.Describe();
    EXPECT_TRUE(ListDir(runtime().root()).empty()) << JoinLines(ListDir(runtime().root()));
  }
};

TEST_F(BadInputTest, MalformedConfigJson) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  ASSERT_TRUE(WriteFile(bundle.config_path(), "{\"ociVersion\": \"1.0.2\", \"process\": {"));
  CommandResult create = Rt({"create", "--bundle", bundle.path(), id});
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_FALSE(create.err.empty());
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, WrongTypeNamesTheField) {
  if (kind() == RuntimeKind::kCrun) GTEST_SKIP() << "crun 1.8 accepts a string uid";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.process()["user"]["uid"] = "zero";
  CommandResult create = Create(id, bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_TRUE(Contains(create.err, "uid")) << create.Describe();
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, MissingConfigJson) {
  std::string id = NewId();
  TempDir empty("hull-empty-bundle");
  CommandResult create = Rt({"create", "--bundle", empty.path(), id});
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_TRUE(Contains(create.err, "config.json")) << create.Describe();
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, MissingBundleDirectory) {
  std::string id = NewId();
  CommandResult create = Rt({"create", "--bundle", work() + "/no-such-bundle", id});
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_TRUE(Contains(create.err, "no-such-bundle")) << create.Describe();
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, UnsupportedOciVersion) {
  if (kind() != RuntimeKind::kHull)
    GTEST_SKIP() << KindName(kind()) << " does not check ociVersion; hull-runtime must";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.config()["ociVersion"] = "2.0.0";
  CommandResult create = Create(id, bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_TRUE(Contains(create.err, "ociVersion") || Contains(create.err, "2.0.0"))
      << create.Describe();
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, MissingRootfs) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.config()["root"]["path"] = "no-such-rootfs";
  CommandResult create = Create(id, bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_TRUE(Contains(create.err, "no-such-rootfs")) << create.Describe();
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, MissingArgs) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.process().erase("args");
  CommandResult run = RunContainer(id, bundle);
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(Contains(run.err, "args") || Contains(run.err, "executable")) << run.Describe();
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, NonexistentBinaryNamesThePath) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"/no/such/program", "arg"});
  CommandResult run = RunContainer(id, bundle);
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_FALSE(run.timed_out);
  EXPECT_TRUE(Contains(run.err, "/no/such/program")) << run.Describe();
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, NonexistentBinaryInPathNamesIt) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Args({"no-such-program"});
  CommandResult create = Create(id, bundle);
  // runc finds this at create time, crun at start; either way it fails and names the program.
  CommandResult start;
  if (create.ok()) start = Rt({"start", id});
  std::string err = create.err + start.err;
  EXPECT_TRUE(!create.ok() || !start.ok()) << create.Describe() << start.Describe();
  EXPECT_TRUE(Contains(err, "no-such-program")) << create.Describe() << start.Describe();
  Rt({"delete", "--force", id});
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, NonExecutableFile) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  ASSERT_TRUE(WriteFile(bundle.rootfs() + "/bin/notexec", "#!/bin/sh\necho hi\n", 0644));
  bundle.Args({"/bin/notexec"});
  CommandResult run = RunContainer(id, bundle);
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(Contains(run.err, "notexec") || Contains(run.err, "ermission")) << run.Describe();
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, UnknownNamespaceType) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.linux()["namespaces"].push_back({{"type", "bogus"}});
  CommandResult create = Create(id, bundle);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  ExpectNothingLeft(id);
}

// Without a mount namespace the process would run in the host's root filesystem with root.path,
// maskedPaths and readonlyPaths ignored. The config is refused before anything is made, also
// when it has nothing to mask (runc then chroots and leaves its mounts on the host).
TEST_F(BadInputTest, ConfigWithoutMountNamespaceIsRefused) {
  if (kind() != RuntimeKind::kHull)
    GTEST_SKIP() << KindName(kind()) << " falls back to a chroot; hull-runtime refuses";
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.RemoveNamespace("mount");
  // What would show that the process runs in the host's root: the test's work directory.
  bundle.Shell("ls -d " + work() + " && echo HOST-ROOT");
  CommandResult run = RunContainer(id, bundle);
  EXPECT_NE(run.exit_code, 0) << run.Describe();
  EXPECT_FALSE(Contains(run.out, "HOST-ROOT")) << run.Describe();
  EXPECT_TRUE(Contains(run.err, "linux.namespaces") && Contains(run.err, "\"mount\""))
      << run.Describe();
  ExpectNothingLeft(id);
  EXPECT_TRUE(MountsUnder(bundle.path()).empty()) << JoinLines(MountsUnder(bundle.path()));

  std::string bare_id = NewId();
  Bundle& bare = NewBundle(bare_id);
  bare.RemoveNamespace("mount").MaskedPaths({}).ReadonlyPaths({});
  bare.config()["mounts"] = nlohmann::json::array();
  CommandResult create = Create(bare_id, bare);
  EXPECT_NE(create.exit_code, 0) << create.Describe();
  EXPECT_TRUE(Contains(create.err, "linux.namespaces")) << create.Describe();
  ExpectNothingLeft(bare_id);
}

TEST_F(BadInputTest, UnknownCapability) {
  std::string id = NewId();
  Bundle& bundle = NewBundle(id);
  bundle.Capabilities({"CAP_KILL", "CAP_NOT_A_THING"});
  CommandResult run = RunContainer(id, bundle);
  // runc warns and ignores unknown capabilities; crun too. Must not crash or leak either way.
  EXPECT_FALSE(run.timed_out);
  EXPECT_NE(run.term_signal, SIGSEGV);
  ExpectNothingLeft(id);
}

TEST_F(BadInputTest, UnknownCommandAndMissingId) {
  CommandResult unknown = Rt({"frobnicate"});
  EXPECT_NE(unknown.exit_code, 0) << unknown.Describe();
  CommandResult no_id = Rt({"state"});
  EXPECT_NE(no_id.exit_code, 0) << no_id.Describe();
  CommandResult no_id_delete = Rt({"delete"});
  EXPECT_NE(no_id_delete.exit_code, 0) << no_id_delete.Describe();
}

TEST_F(BadInputTest, DeleteUnknownContainer) {
  CommandResult remove = Rt({"delete", "hit-never-created"});
  EXPECT_NE(remove.exit_code, 0) << remove.Describe();
  EXPECT_TRUE(Contains(remove.err, "hit-never-created") || Contains(remove.err, "not exist"))
      << remove.Describe();
}

// An id is a name under --root, never a path: "../x" must not reach the directory x beside the
// state root, whichever command gets it (delete --force once removed it).
TEST_F(BadInputTest, IdWithDotDotNeverLeavesTheStateRoot) {
  std::string victim = work() + "/victim";
  ASSERT_TRUE(MakeDirs(victim));
  ASSERT_TRUE(WriteFile(victim + "/config.json", "{}"));
  ASSERT_TRUE(WriteFile(victim + "/state.json", "{}"));
  const std::vector<std::vector<std::string>> commands = {
      {"delete", "--force", "../victim"},
      {"delete", "../victim"},
      {"state", "../victim"},
      {"kill", "../victim", "KILL"},
      {"start", "../victim"},
      {"pause", "../victim"},
      {"resume", "../victim"},
      {"ps", "../victim"},
      {"exec", "../victim", "true"},
      {"update", "--pids-limit", "10", "../victim"},
      {"events", "--stats", "../victim"},
      {"delete", "--force", ".."},
      {"state", "../../etc"}};
  for (const auto& command : commands) {
    CommandResult result = Rt(command);
    SCOPED_TRACE(result.Describe());
    EXPECT_NE(result.exit_code, 0);
    EXPECT_FALSE(result.timed_out);
    if (kind() == RuntimeKind::kHull) {
      EXPECT_TRUE(Contains(result.err, "container id")) << "the message should name the id";
      EXPECT_FALSE(Contains(result.out, "\"id\"")) << "state printed something";
    }
    EXPECT_TRUE(ListDir(victim).size() == 2) << JoinLines(ListDir(victim));
  }
  EXPECT_EQ(ReadFile(victim + "/config.json"), "{}");
}

// Clients (containerd's shim, Podman's cleanup) call `delete --force` for containers that may
// never have been made: runc exits 0 and prints nothing. An invalid id is still an error.
TEST_F(BadInputTest, ForcedDeleteOfUnknownContainerSucceeds) {
  CommandResult remove = Rt({"delete", "--force", "hit-never-created"});
  EXPECT_EQ(remove.exit_code, 0) << remove.Describe();
  EXPECT_EQ(remove.out, "") << remove.Describe();
  EXPECT_EQ(remove.err, "") << remove.Describe();
  EXPECT_TRUE(ListDir(runtime().root()).empty()) << JoinLines(ListDir(runtime().root()));
  if (kind() != RuntimeKind::kCrun) {  // crun 1.8 exits 0 for it too
    CommandResult invalid = Rt({"delete", "--force", "../hit-escape"});
    EXPECT_NE(invalid.exit_code, 0) << invalid.Describe();
  }
  // Without --force it is an error.
  CommandResult plain = Rt({"delete", "hit-never-created"});
  EXPECT_NE(plain.exit_code, 0) << plain.Describe();
  if (kind() == RuntimeKind::kHull) {
    EXPECT_TRUE(Contains(plain.err, "container \"hit-never-created\" does not exist"))
        << plain.Describe();
  }
}

}  // namespace
}  // namespace hull::testing
