// Semantic validation: each rule rejects a bad config with a message naming the field.
#include "oci/validate.h"

#include <gtest/gtest.h>

#include "oci/spec_json.h"

namespace hull::oci {
namespace {

// A small valid config that each test breaks in one place.
Spec ValidSpec() {
  Result<Spec> spec = ParseSpec(R"({
    "ociVersion": "1.1.0",
    "root": {"path": "rootfs"},
    "hostname": "box",
    "process": {"args": ["sh"], "cwd": "/", "env": ["PATH=/bin"],
                "capabilities": {"bounding": ["CAP_KILL"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]}
  })");
  EXPECT_TRUE(spec) << spec.error().ToString();
  return *spec;
}

std::string ErrorOf(const Spec& spec) {
  Result<void> result = ValidateSpec(spec);
  return result ? "(valid)" : result.error().ToString();
}

TEST(OciValidateTest, ValidSpecPasses) { EXPECT_EQ(ErrorOf(ValidSpec()), "(valid)"); }

TEST(OciValidateTest, OciVersion) {
  Spec spec = ValidSpec();
  for (const char* ok : {"1.0.0", "1.0.2-dev", "1.1.0", "1.1.0-rc.1", "1.2.1", "1.0.0+build"}) {
    spec.oci_version = ok;
    EXPECT_EQ(ErrorOf(spec), "(valid)") << ok;
  }
  spec.oci_version = "2.0.0";
  EXPECT_EQ(ErrorOf(spec),
            R"(ociVersion: unsupported version "2.0.0" (supported: 1.0.x, 1.1.x, 1.2.x))");
  spec.oci_version = "1.3.0";
  EXPECT_EQ(ErrorOf(spec),
            R"(ociVersion: unsupported version "1.3.0" (supported: 1.0.x, 1.1.x, 1.2.x))");
  spec.oci_version = "1.1";
  EXPECT_EQ(ErrorOf(spec),
            R"(ociVersion: unsupported version "1.1" (supported: 1.0.x, 1.1.x, 1.2.x))");
  spec.oci_version = "";
  EXPECT_EQ(ErrorOf(spec), "ociVersion: required");
}

TEST(OciValidateTest, RootPathRequired) {
  Spec spec = ValidSpec();
  spec.root.path = "";
  EXPECT_EQ(ErrorOf(spec), "root.path: must not be empty");
}

TEST(OciValidateTest, ProcessArgsAndCwd) {
  Spec spec = ValidSpec();
  spec.process->args.clear();
  EXPECT_EQ(ErrorOf(spec), "process.args: must not be empty");
  spec = ValidSpec();
  spec.process->cwd = "home";
  EXPECT_EQ(ErrorOf(spec), "process.cwd: must be an absolute path");
  spec.process->cwd = "";
  EXPECT_EQ(ErrorOf(spec), "process.cwd: must be an absolute path");
  // No process at all is fine (create without a process is allowed by the spec).
  spec = ValidSpec();
  spec.process.reset();
  EXPECT_EQ(ErrorOf(spec), "(valid)");
}

TEST(OciValidateTest, ProcessEnvNeedsNameAndEquals) {
  Spec spec = ValidSpec();
  spec.process->env = {"A=1", "JUSTNAME"};
  EXPECT_EQ(ErrorOf(spec), R"(process.env[1]: expected NAME=value, got "JUSTNAME")");
  spec.process->env = {"=value"};
  EXPECT_EQ(ErrorOf(spec), R"(process.env[0]: expected NAME=value, got "=value")");
}

TEST(OciValidateTest, Rlimits) {
  Spec spec = ValidSpec();
  spec.process->rlimits = {{"RLIMIT_FOO", 1, 1}};
  EXPECT_EQ(ErrorOf(spec), R"(process.rlimits[0].type: unknown rlimit "RLIMIT_FOO")");
  spec.process->rlimits = {{"RLIMIT_NOFILE", 1, 1}, {"RLIMIT_CORE", 0, 0}, {"RLIMIT_NOFILE", 2, 2}};
  EXPECT_EQ(
      ErrorOf(spec),
      R"(process.rlimits[2].type: duplicate rlimit "RLIMIT_NOFILE" (also process.rlimits[0]))");
  spec.process->rlimits = {{"RLIMIT_NOFILE", 1024, 2048}};
  EXPECT_EQ(ErrorOf(spec), "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024");
}

TEST(OciValidateTest, Capabilities) {
  Spec spec = ValidSpec();
  spec.process->capabilities->bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_BPF", "CAP_FOO"};
  EXPECT_EQ(ErrorOf(spec), R"(process.capabilities.bounding[3]: unknown capability "CAP_FOO")");
  spec = ValidSpec();
  spec.process->capabilities->ambient = {"cap_kill"};
  EXPECT_EQ(ErrorOf(spec), R"(process.capabilities.ambient[0]: unknown capability "cap_kill")");
  spec = ValidSpec();
  spec.process->capabilities->permitted = {"CAP_CHECKPOINT_RESTORE", "CAP_PERFMON"};
  EXPECT_EQ(ErrorOf(spec), "(valid)");
}

TEST(OciValidateTest, ProcessRanges) {
  Spec spec = ValidSpec();
  spec.process->oom_score_adj = 1001;
  EXPECT_EQ(ErrorOf(spec), "process.oomScoreAdj: must be between -1000 and 1000");
  spec = ValidSpec();
  spec.process->io_priority = IoPriority{"IOPRIO_CLASS_XX", 0};
  EXPECT_EQ(ErrorOf(spec), R"(process.ioPriority.class: unknown class "IOPRIO_CLASS_XX")");
  spec.process->io_priority = IoPriority{"IOPRIO_CLASS_RT", 8};
  EXPECT_EQ(ErrorOf(spec), "process.ioPriority.priority: must be between 0 and 7");
  spec = ValidSpec();
  spec.process->scheduler = Scheduler{.policy = "SCHED_FAST"};
  EXPECT_EQ(ErrorOf(spec), R"(process.scheduler.policy: unknown policy "SCHED_FAST")");
  spec.process->scheduler = Scheduler{.policy = "SCHED_OTHER", .flags = {"SCHED_FLAG_X"}};
  EXPECT_EQ(ErrorOf(spec), R"(process.scheduler.flags[0]: unknown flag "SCHED_FLAG_X")");
}

TEST(OciValidateTest, ValidateProcessUsesTheGivenFieldName) {
  Process process;
  process.args = {"sh"};
  process.cwd = "relative";
  Result<void> result = ValidateProcess(process, "process.json");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().ToString(), "process.json.cwd: must be an absolute path");
  result = ValidateProcess(process, "");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().ToString(), "cwd: must be an absolute path");
  process.cwd = "/";
  EXPECT_TRUE(ValidateProcess(process, "process"));
}

TEST(OciValidateTest, MountDestinationMustBeAbsolute) {
  Spec spec = ValidSpec();
  spec.mounts.push_back({.destination = "data", .type = "bind", .source = "/srv"});
  EXPECT_EQ(ErrorOf(spec), "mounts[1].destination: must be an absolute path");
}

TEST(OciValidateTest, IdmappedMountMappings) {
  Spec spec = ValidSpec();
  spec.mounts[0].uid_mappings = {{0, 100000, 65536}};
  EXPECT_EQ(ErrorOf(spec), "mounts[0]: uidMappings and gidMappings must be given together");
  spec.mounts[0].gid_mappings = {{0, 100000, 0}};
  EXPECT_EQ(ErrorOf(spec), "mounts[0].gidMappings[0].size: must be greater than 0");
  spec.mounts[0].gid_mappings = {{0, 100000, 65536}};
  EXPECT_EQ(ErrorOf(spec), "(valid)");
}

TEST(OciValidateTest, Namespaces) {
  Spec spec = ValidSpec();
  spec.linux->namespaces.push_back({"foo", ""});
  EXPECT_EQ(ErrorOf(spec), R"(linux.namespaces[3].type: unknown namespace type "foo")");
  spec = ValidSpec();
  spec.linux->namespaces.push_back({"pid", "/proc/1/ns/pid"});
  EXPECT_EQ(
      ErrorOf(spec),
      R"(linux.namespaces[3].type: duplicate namespace type "pid" (also linux.namespaces[0]))");
  spec = ValidSpec();
  spec.linux->namespaces.push_back({"network", "run/netns/x"});
  EXPECT_EQ(ErrorOf(spec), "linux.namespaces[3].path: must be an absolute path");
  spec = ValidSpec();
  for (const char* type : {"network", "ipc", "cgroup", "time"})
    spec.linux->namespaces.push_back({type, ""});
  EXPECT_EQ(ErrorOf(spec), "(valid)");
}

// runc and crun would chroot in the host's mount namespace (runc leaving the config's mounts on
// the host); hull refuses, naming linux.namespaces.
TEST(OciValidateTest, MountNamespaceIsRequired) {
  const std::string expected =
      R"(linux.namespaces: a "mount" namespace is required (new, or joined by path): without )"
      R"(one the process would run in the host's root filesystem, and root.path, mounts, )"
      R"(maskedPaths and readonlyPaths could not be applied)";
  Spec spec = ValidSpec();
  spec.linux->namespaces.erase(spec.linux->namespaces.begin() + 1);  // mount
  EXPECT_EQ(ErrorOf(spec), expected);
  // Also with nothing to mount or mask: the process would still see the host's root.
  spec.mounts.clear();
  EXPECT_EQ(ErrorOf(spec), expected);
  spec.linux->namespaces.clear();
  EXPECT_EQ(ErrorOf(spec), expected);
  // No linux object at all, also with a hostname: as with a linux object without namespaces,
  // the missing mount namespace is reported first.
  spec = ValidSpec();
  spec.linux.reset();
  EXPECT_EQ(ErrorOf(spec), expected);
  spec.hostname = "";
  EXPECT_EQ(ErrorOf(spec), expected);
  // A mount namespace joined by path is one of its own choosing.
  spec = ValidSpec();
  spec.linux->namespaces[1].path = "/proc/42/ns/mnt";
  EXPECT_EQ(ErrorOf(spec), "(valid)");
}

TEST(OciValidateTest, UserNamespaceNeedsMappings) {
  Spec spec = ValidSpec();
  spec.linux->namespaces.push_back({"user", ""});
  EXPECT_EQ(ErrorOf(spec), "linux.uidMappings: required when a new user namespace is created");
  spec.linux->uid_mappings = {{0, 1000, 1}};
  EXPECT_EQ(ErrorOf(spec), "linux.gidMappings: required when a new user namespace is created");
  spec.linux->gid_mappings = {{0, 1000, 1}};
  EXPECT_EQ(ErrorOf(spec), "(valid)");
  // Joining an existing user namespace needs no mappings.
  spec = ValidSpec();
  spec.linux->namespaces.push_back({"user", "/proc/42/ns/user"});
  EXPECT_EQ(ErrorOf(spec), "(valid)");
  // Mappings without any user namespace cannot be applied.
  spec = ValidSpec();
  spec.linux->uid_mappings = {{0, 1000, 1}};
  EXPECT_EQ(ErrorOf(spec), "linux.uidMappings: requires a user namespace");
}

TEST(OciValidateTest, IdMappingRanges) {
  Spec spec = ValidSpec();
  spec.linux->namespaces.push_back({"user", ""});
  spec.linux->gid_mappings = {{0, 1000, 1}};
  spec.linux->uid_mappings = {{0, 100000, 1000}, {500, 300000, 10}};
  EXPECT_EQ(ErrorOf(spec), "linux.uidMappings[1]: overlaps linux.uidMappings[0]");
  // Overlap on the host side is rejected by the kernel too.
  spec.linux->uid_mappings = {{0, 100000, 1000}, {1000, 100999, 10}};
  EXPECT_EQ(ErrorOf(spec), "linux.uidMappings[1]: overlaps linux.uidMappings[0]");
  // Adjacent ranges are fine.
  spec.linux->uid_mappings = {{0, 100000, 1000}, {1000, 101000, 10}};
  EXPECT_EQ(ErrorOf(spec), "(valid)");
  spec.linux->uid_mappings = {{0, 1000, 0}};
  EXPECT_EQ(ErrorOf(spec), "linux.uidMappings[0].size: must be greater than 0");
  spec.linux->uid_mappings = {{4294967295u, 1000, 2}};
  EXPECT_EQ(ErrorOf(spec), "linux.uidMappings[0]: range extends beyond id 4294967295");
  spec.linux->uid_mappings.assign(341, IdMapping{});
  for (uint32_t i = 0; i < 341; ++i) spec.linux->uid_mappings[i] = {i, 1000 + i, 1};
  EXPECT_EQ(ErrorOf(spec), "linux.uidMappings: at most 340 mappings are allowed, got 341");
}

TEST(OciValidateTest, TimeOffsetsNeedATimeNamespace) {
  Spec spec = ValidSpec();
  spec.linux->time_offsets["monotonic"] = {10, 0};
  EXPECT_EQ(ErrorOf(spec), "linux.timeOffsets: requires a time namespace");
  spec.linux->namespaces.push_back({"time", "/proc/1/ns/time"});
  EXPECT_EQ(ErrorOf(spec),
            "linux.timeOffsets: cannot be set when joining an existing time namespace");
  spec.linux->namespaces.back().path = "";
  EXPECT_EQ(ErrorOf(spec), "(valid)");
  spec.linux->time_offsets["realtime"] = {1, 0};
  EXPECT_EQ(ErrorOf(spec),
            R"(linux.timeOffsets: unknown clock "realtime" (expected monotonic or boottime))");
  spec.linux->time_offsets.erase("realtime");
  spec.linux->time_offsets["boottime"] = {1, 1000000000};
  EXPECT_EQ(ErrorOf(spec), "linux.timeOffsets.boottime.nanosecs: must be less than 1000000000");
}

TEST(OciValidateTest, HostnameNeedsUtsNamespace) {
  Spec spec = ValidSpec();
  spec.linux->namespaces.pop_back();  // uts
  EXPECT_EQ(ErrorOf(spec), "hostname: requires a uts namespace");
  spec.hostname = "";
  EXPECT_EQ(ErrorOf(spec), "(valid)");
}

TEST(OciValidateTest, Hooks) {
  Spec spec = ValidSpec();
  spec.hooks = Hooks{};
  spec.hooks->poststart = {{.path = "/bin/ok"}, {.path = "relative/hook"}};
  EXPECT_EQ(ErrorOf(spec), "hooks.poststart[1].path: must be an absolute path");
  spec.hooks = Hooks{};
  spec.hooks->create_runtime = {{.path = "/bin/hook", .timeout = 0}};
  EXPECT_EQ(ErrorOf(spec), "hooks.createRuntime[0].timeout: must be greater than 0");
  spec.hooks->create_runtime = {{.path = "/bin/hook", .timeout = -3}};
  EXPECT_EQ(ErrorOf(spec), "hooks.createRuntime[0].timeout: must be greater than 0");
  spec.hooks->create_runtime = {{.path = "/bin/hook", .timeout = 1}};
  EXPECT_EQ(ErrorOf(spec), "(valid)");
}

TEST(OciValidateTest, Devices) {
  Spec spec = ValidSpec();
  spec.linux->devices = {{.type = "c", .path = "/dev/null", .major = 1, .minor = 3},
                         {.type = "x", .path = "/dev/x"}};
  EXPECT_EQ(ErrorOf(spec),
            R"(linux.devices[1].type: unknown device type "x" (expected c, b, u or p))");
  spec.linux->devices = {{.type = "p", .path = "dev/fifo"}};
  EXPECT_EQ(ErrorOf(spec), "linux.devices[0].path: must be an absolute path");
}

TEST(OciValidateTest, DeviceCgroupRules) {
  Spec spec = ValidSpec();
  spec.linux->resources = Resources{};
  spec.linux->resources->devices = {{.allow = false, .access = "rwm"},
                                    {.allow = true, .type = "z", .access = "r"}};
  EXPECT_EQ(ErrorOf(spec),
            R"(linux.resources.devices[1].type: unknown device type "z" (expected a, c or b))");
  spec.linux->resources->devices = {{.allow = true, .type = "c", .access = "rwx"}};
  EXPECT_EQ(
      ErrorOf(spec),
      R"(linux.resources.devices[0].access: unknown access "rwx" (expected letters from "rwm"))");
}

TEST(OciValidateTest, Seccomp) {
  Spec spec = ValidSpec();
  spec.linux->seccomp = Seccomp{.default_action = "SCMP_ACT_ERRNO",
                                .architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"},
                                .syscalls = {{.names = {"read"}, .action = "SCMP_ACT_ALLOW"}}};
  EXPECT_EQ(ErrorOf(spec), "(valid)");

  Spec bad = spec;
  bad.linux->seccomp->default_action = "SCMP_ACT_EXPLODE";
  EXPECT_EQ(ErrorOf(bad), R"(linux.seccomp.defaultAction: unknown action "SCMP_ACT_EXPLODE")");
  bad = spec;
  bad.linux->seccomp->default_action = "SCMP_ACT_NOTIFY";
  EXPECT_EQ(ErrorOf(bad),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  bad = spec;
  bad.linux->seccomp->architectures.push_back("SCMP_ARCH_Z80");
  EXPECT_EQ(ErrorOf(bad),
            R"(linux.seccomp.architectures[2]: unknown architecture "SCMP_ARCH_Z80")");
  bad = spec;
  bad.linux->seccomp->flags = {"SECCOMP_FILTER_FLAG_BOGUS"};
  EXPECT_EQ(ErrorOf(bad), R"(linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_BOGUS")");
  bad = spec;
  bad.linux->seccomp->syscalls[0].action = "ALLOW";
  EXPECT_EQ(ErrorOf(bad), R"(linux.seccomp.syscalls[0].action: unknown action "ALLOW")");
  bad = spec;
  bad.linux->seccomp->syscalls[0].names.clear();
  EXPECT_EQ(ErrorOf(bad), "linux.seccomp.syscalls[0].names: must not be empty");
  bad = spec;
  bad.linux->seccomp->syscalls[0].args = {{.index = 0, .op = "SCMP_CMP_EQ"},
                                          {.index = 1, .op = "SCMP_CMP_APPROX"}};
  EXPECT_EQ(ErrorOf(bad),
            R"(linux.seccomp.syscalls[0].args[1].op: unknown operator "SCMP_CMP_APPROX")");
  bad = spec;
  bad.linux->seccomp->syscalls[0].args = {{.index = 6, .op = "SCMP_CMP_EQ"}};
  EXPECT_EQ(ErrorOf(bad), "linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5");
}

TEST(OciValidateTest, Sysctl) {
  Spec spec = ValidSpec();
  spec.linux->sysctl = {{"net.ipv4.ip_forward", "1"}, {"net/ipv4/conf/eth0.100/forwarding", "1"}};
  EXPECT_EQ(ErrorOf(spec), "(valid)");
  spec.linux->sysctl = {{"", "1"}};
  EXPECT_EQ(ErrorOf(spec), "linux.sysctl: empty key");
  spec.linux->sysctl = {{"../../etc/passwd", "x"}};
  EXPECT_EQ(ErrorOf(spec), R"(linux.sysctl: invalid name "../../etc/passwd")");
  spec.linux->sysctl = {{"net..core", "x"}};
  EXPECT_EQ(ErrorOf(spec), R"(linux.sysctl: invalid name "net..core")");
}

TEST(OciValidateTest, RootfsPropagation) {
  Spec spec = ValidSpec();
  for (const char* ok : {"", "shared", "slave", "private", "unbindable", "rshared", "rslave",
                         "rprivate", "runbindable"}) {
    spec.linux->rootfs_propagation = ok;
    EXPECT_EQ(ErrorOf(spec), "(valid)") << ok;
  }
  spec.linux->rootfs_propagation = "recursive";
  EXPECT_EQ(ErrorOf(spec), R"(linux.rootfsPropagation: unknown propagation "recursive")");
}

TEST(OciValidateTest, MaskedAndReadonlyPathsAreAbsolute) {
  Spec spec = ValidSpec();
  spec.linux->masked_paths = {"/proc/kcore", "proc/keys"};
  EXPECT_EQ(ErrorOf(spec), "linux.maskedPaths[1]: must be an absolute path");
  spec = ValidSpec();
  spec.linux->readonly_paths = {"sys"};
  EXPECT_EQ(ErrorOf(spec), "linux.readonlyPaths[0]: must be an absolute path");
}

TEST(OciValidateTest, PersonalityDomain) {
  Spec spec = ValidSpec();
  spec.linux->personality = Personality{.domain = "LINUX32"};
  EXPECT_EQ(ErrorOf(spec), "(valid)");
  spec.linux->personality->domain = "WIN32";
  EXPECT_EQ(ErrorOf(spec),
            R"(linux.personality.domain: unknown domain "WIN32" (expected LINUX or LINUX32))");
}

TEST(OciValidateTest, MemorySwappinessRange) {
  Spec spec = ValidSpec();
  spec.linux->resources = Resources{.memory = MemoryResources{.swappiness = 101}};
  EXPECT_EQ(ErrorOf(spec), "linux.resources.memory.swappiness: must be at most 100");
}

}  // namespace
}  // namespace hull::oci
