// Parsing of well-formed documents: every field of a complete config lands where the runtime
// will look for it, unknown members are ignored and null means absent.
#include "oci/spec_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "oci/validate.h"

namespace hull::oci {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(HULL_SOURCE_DIR) + "/tests/fixtures/oci/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Spec ParseOk(std::string_view json) {
  Result<Spec> spec = ParseSpec(json);
  EXPECT_TRUE(spec) << spec.error().ToString();
  return spec ? *spec : Spec{};
}

class OciFullConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string text = ReadFixture("full_config.json");
    ASSERT_FALSE(text.empty()) << "fixture full_config.json missing";
    Result<Spec> parsed = ParseSpec(text);
    ASSERT_TRUE(parsed) << parsed.error().ToString();
    spec_ = *parsed;
  }
  Spec spec_;
};

TEST_F(OciFullConfigTest, TopLevel) {
  EXPECT_EQ(spec_.oci_version, "1.1.0");
  EXPECT_EQ(spec_.root.path, "rootfs");
  EXPECT_TRUE(spec_.root.readonly);
  EXPECT_EQ(spec_.hostname, "web-1");
  EXPECT_EQ(spec_.domainname, "example.org");
  EXPECT_THAT(spec_.annotations, ElementsAre(Pair("io.hull.test", "yes"),
                                             Pair("org.opencontainers.image.title", "demo")));
}

TEST_F(OciFullConfigTest, Process) {
  ASSERT_TRUE(spec_.process);
  const Process& p = *spec_.process;
  EXPECT_TRUE(p.terminal);
  ASSERT_TRUE(p.console_size);
  EXPECT_EQ(p.console_size->height, 25u);
  EXPECT_EQ(p.console_size->width, 80u);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 1001u);
  EXPECT_EQ(p.user.umask, 18u);
  EXPECT_THAT(p.user.additional_gids, ElementsAre(5u, 6u, 4294967295u));
  EXPECT_THAT(p.args, ElementsAre("/bin/sh", "-c", "echo hello"));
  EXPECT_THAT(p.env, ElementsAre("PATH=/usr/bin:/bin", "TERM=xterm", "EMPTY="));
  EXPECT_EQ(p.cwd, "/home/app");
  ASSERT_TRUE(p.capabilities);
  EXPECT_THAT(p.capabilities->bounding,
              ElementsAre("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"));
  EXPECT_THAT(p.capabilities->effective, ElementsAre("CAP_KILL"));
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  EXPECT_THAT(p.capabilities->permitted, ElementsAre("CAP_KILL", "CAP_NET_BIND_SERVICE"));
  EXPECT_THAT(p.capabilities->ambient, ElementsAre("CAP_NET_BIND_SERVICE"));
  ASSERT_EQ(p.rlimits.size(), 2u);
  EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(p.rlimits[0].hard, 1048576u);
  EXPECT_EQ(p.rlimits[0].soft, 1024u);
  EXPECT_EQ(p.rlimits[1].type, "RLIMIT_CORE");
  EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);  // RLIM_INFINITY as Go marshals it
  EXPECT_EQ(p.rlimits[1].soft, 0u);
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(p.apparmor_profile, "hull-default");
  EXPECT_EQ(p.oom_score_adj, -500);
  EXPECT_EQ(p.selinux_label, "system_u:system_r:container_t:s0:c1,c2");
  ASSERT_TRUE(p.io_priority);
  EXPECT_EQ(p.io_priority->io_class, "IOPRIO_CLASS_BE");
  EXPECT_EQ(p.io_priority->priority, 4);
  ASSERT_TRUE(p.scheduler);
  EXPECT_EQ(p.scheduler->policy, "SCHED_DEADLINE");
  EXPECT_EQ(p.scheduler->nice, -5);
  EXPECT_EQ(p.scheduler->priority, 3);
  EXPECT_THAT(p.scheduler->flags, ElementsAre("SCHED_FLAG_RESET_ON_FORK"));
  EXPECT_EQ(p.scheduler->runtime, 10000000u);
  EXPECT_EQ(p.scheduler->deadline, 20000000u);
  EXPECT_EQ(p.scheduler->period, 30000000u);
}

TEST_F(OciFullConfigTest, Mounts) {
  ASSERT_EQ(spec_.mounts.size(), 3u);
  EXPECT_EQ(spec_.mounts[0].destination, "/proc");
  EXPECT_EQ(spec_.mounts[0].type, "proc");
  EXPECT_EQ(spec_.mounts[0].source, "proc");
  EXPECT_TRUE(spec_.mounts[0].options.empty());
  const Mount& data = spec_.mounts[1];
  EXPECT_EQ(data.destination, "/data");
  EXPECT_EQ(data.type, "bind");
  EXPECT_EQ(data.source, "/srv/data");
  EXPECT_THAT(data.options, ElementsAre("rbind", "rw"));
  ASSERT_EQ(data.uid_mappings.size(), 1u);
  EXPECT_EQ(data.uid_mappings[0].container_id, 0u);
  EXPECT_EQ(data.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(data.uid_mappings[0].size, 65536u);
  ASSERT_EQ(data.gid_mappings.size(), 1u);
  EXPECT_EQ(data.gid_mappings[0].host_id, 200000u);
  EXPECT_THAT(spec_.mounts[2].options, ElementsAre("nosuid", "size=64m"));
}

TEST_F(OciFullConfigTest, Hooks) {
  ASSERT_TRUE(spec_.hooks);
  const Hooks& h = *spec_.hooks;
  ASSERT_EQ(h.prestart.size(), 1u);
  EXPECT_EQ(h.prestart[0].path, "/usr/bin/prestart-hook");
  EXPECT_FALSE(h.prestart[0].timeout);
  ASSERT_EQ(h.create_runtime.size(), 1u);
  EXPECT_EQ(h.create_runtime[0].path, "/usr/bin/netns-setup");
  EXPECT_THAT(h.create_runtime[0].args, ElementsAre("netns-setup", "--verbose"));
  EXPECT_THAT(h.create_runtime[0].env, ElementsAre("KEY=value"));
  EXPECT_EQ(h.create_runtime[0].timeout, 5);
  ASSERT_EQ(h.create_container.size(), 1u);
  EXPECT_EQ(h.create_container[0].timeout, 1);
  ASSERT_EQ(h.start_container.size(), 1u);
  EXPECT_EQ(h.start_container[0].path, "/bin/start-hook");
  ASSERT_EQ(h.poststart.size(), 2u);
  EXPECT_EQ(h.poststart[1].path, "/usr/bin/poststart-2");
  ASSERT_EQ(h.poststop.size(), 1u);
  EXPECT_EQ(h.poststop[0].timeout, 30);
}

TEST_F(OciFullConfigTest, LinuxNamespacesMappingsDevices) {
  ASSERT_TRUE(spec_.linux);
  const Linux& l = *spec_.linux;
  ASSERT_EQ(l.namespaces.size(), 8u);
  EXPECT_EQ(l.namespaces[0].type, "pid");
  EXPECT_EQ(l.namespaces[0].path, "");
  EXPECT_EQ(l.namespaces[1].type, "network");
  EXPECT_EQ(l.namespaces[1].path, "/var/run/netns/blue");
  EXPECT_EQ(l.namespaces[7].type, "time");
  ASSERT_EQ(l.uid_mappings.size(), 2u);
  EXPECT_EQ(l.uid_mappings[1].container_id, 1u);
  EXPECT_EQ(l.uid_mappings[1].host_id, 100000u);
  EXPECT_EQ(l.uid_mappings[1].size, 65536u);
  ASSERT_EQ(l.gid_mappings.size(), 1u);
  EXPECT_EQ(l.gid_mappings[0].size, 65537u);
  ASSERT_EQ(l.time_offsets.size(), 2u);
  EXPECT_EQ(l.time_offsets.at("monotonic").secs, -86400);
  EXPECT_EQ(l.time_offsets.at("monotonic").nanosecs, 500u);
  EXPECT_EQ(l.time_offsets.at("boottime").secs, 3600);
  EXPECT_EQ(l.time_offsets.at("boottime").nanosecs, 0u);
  ASSERT_EQ(l.devices.size(), 3u);
  EXPECT_EQ(l.devices[0].type, "c");
  EXPECT_EQ(l.devices[0].path, "/dev/fuse");
  EXPECT_EQ(l.devices[0].major, 10);
  EXPECT_EQ(l.devices[0].minor, 229);
  EXPECT_EQ(l.devices[0].file_mode, 0666u);
  EXPECT_EQ(l.devices[0].uid, 0u);
  EXPECT_EQ(l.devices[0].gid, 0u);
  EXPECT_EQ(l.devices[1].major, 8);
  EXPECT_FALSE(l.devices[1].file_mode);
  EXPECT_FALSE(l.devices[1].uid);
  EXPECT_EQ(l.devices[2].type, "p");
  EXPECT_EQ(l.cgroups_path, "/hull/web-1");
  EXPECT_EQ(l.rootfs_propagation, "rslave");
  EXPECT_THAT(l.sysctl,
              ElementsAre(Pair("kernel.shm_rmid_forced", "1"), Pair("net.ipv4.ip_forward", "1")));
  EXPECT_THAT(l.masked_paths, ElementsAre("/proc/kcore", "/sys/firmware"));
  EXPECT_THAT(l.readonly_paths, ElementsAre("/proc/sys", "/proc/sysrq-trigger"));
  EXPECT_EQ(l.mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
  ASSERT_TRUE(l.personality);
  EXPECT_EQ(l.personality->domain, "LINUX32");
  EXPECT_TRUE(l.personality->flags.empty());
  ASSERT_TRUE(l.intel_rdt);
  EXPECT_EQ(l.intel_rdt->clos_id, "guaranteed_group");
  EXPECT_EQ(l.intel_rdt->l3_cache_schema, "L3:0=7f0;1=1f");
  EXPECT_EQ(l.intel_rdt->mem_bw_schema, "MB:0=20;1=70");
  EXPECT_TRUE(l.intel_rdt->enable_cmt);
  EXPECT_TRUE(l.intel_rdt->enable_mbm);
}

TEST_F(OciFullConfigTest, LinuxResources) {
  ASSERT_TRUE(spec_.linux && spec_.linux->resources);
  const Resources& r = *spec_.linux->resources;
  ASSERT_EQ(r.devices.size(), 3u);
  EXPECT_FALSE(r.devices[0].allow);
  EXPECT_EQ(r.devices[0].type, "");
  EXPECT_FALSE(r.devices[0].major);  // absent = wildcard
  EXPECT_EQ(r.devices[0].access, "rwm");
  EXPECT_TRUE(r.devices[1].allow);
  EXPECT_EQ(r.devices[1].type, "c");
  EXPECT_EQ(r.devices[1].major, 10);
  EXPECT_EQ(r.devices[1].minor, 229);
  EXPECT_EQ(r.devices[2].major, 8);
  EXPECT_FALSE(r.devices[2].minor);

  ASSERT_TRUE(r.memory);
  EXPECT_EQ(r.memory->limit, 536870912);
  EXPECT_EQ(r.memory->reservation, 268435456);
  EXPECT_EQ(r.memory->swap, -1);
  EXPECT_EQ(r.memory->kernel, 0);
  EXPECT_EQ(r.memory->kernel_tcp, 1024);
  EXPECT_EQ(r.memory->swappiness, 60u);
  EXPECT_EQ(r.memory->disable_oom_killer, false);
  EXPECT_EQ(r.memory->use_hierarchy, true);
  EXPECT_EQ(r.memory->check_before_update, true);

  ASSERT_TRUE(r.cpu);
  EXPECT_EQ(r.cpu->shares, 1024u);
  EXPECT_EQ(r.cpu->quota, 50000);
  EXPECT_EQ(r.cpu->burst, 10000);
  EXPECT_EQ(r.cpu->period, 100000u);
  EXPECT_EQ(r.cpu->realtime_runtime, 950000);
  EXPECT_EQ(r.cpu->realtime_period, 1000000u);
  EXPECT_EQ(r.cpu->cpus, "0-3");
  EXPECT_EQ(r.cpu->mems, "0");
  EXPECT_EQ(r.cpu->idle, 1);

  ASSERT_TRUE(r.pids);
  EXPECT_EQ(r.pids->limit, 512);

  ASSERT_TRUE(r.block_io);
  EXPECT_EQ(r.block_io->weight, 500);
  EXPECT_EQ(r.block_io->leaf_weight, 300);
  ASSERT_EQ(r.block_io->weight_device.size(), 1u);
  EXPECT_EQ(r.block_io->weight_device[0].major, 8);
  EXPECT_EQ(r.block_io->weight_device[0].minor, 0);
  EXPECT_EQ(r.block_io->weight_device[0].weight, 600);
  EXPECT_EQ(r.block_io->weight_device[0].leaf_weight, 200);
  ASSERT_EQ(r.block_io->throttle_read_bps_device.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_read_bps_device[0].rate, 104857600u);
  ASSERT_EQ(r.block_io->throttle_write_bps_device.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_write_bps_device[0].minor, 16);
  EXPECT_EQ(r.block_io->throttle_write_bps_device[0].rate, 52428800u);
  ASSERT_EQ(r.block_io->throttle_read_iops_device.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_read_iops_device[0].rate, 1000u);
  ASSERT_EQ(r.block_io->throttle_write_iops_device.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_write_iops_device[0].rate, 500u);

  ASSERT_EQ(r.hugepage_limits.size(), 1u);
  EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(r.hugepage_limits[0].limit, 209715200u);

  ASSERT_TRUE(r.network);
  EXPECT_EQ(r.network->class_id, 1048577u);
  ASSERT_EQ(r.network->priorities.size(), 2u);
  EXPECT_EQ(r.network->priorities[0].name, "eth0");
  EXPECT_EQ(r.network->priorities[0].priority, 500u);

  EXPECT_THAT(r.unified,
              ElementsAre(Pair("io.max", "8:0 rbps=1048576"), Pair("memory.high", "400000000")));
}

TEST_F(OciFullConfigTest, LinuxSeccomp) {
  ASSERT_TRUE(spec_.linux && spec_.linux->seccomp);
  const Seccomp& s = *spec_.linux->seccomp;
  EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s.default_errno_ret, 1u);
  EXPECT_THAT(s.architectures, ElementsAre("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"));
  EXPECT_THAT(s.flags, ElementsAre("SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
  EXPECT_EQ(s.listener_path, "/run/seccomp-agent.sock");
  EXPECT_EQ(s.listener_metadata, "demo-metadata");
  ASSERT_EQ(s.syscalls.size(), 4u);
  EXPECT_THAT(s.syscalls[0].names, ElementsAre("read", "write", "exit_group"));
  EXPECT_EQ(s.syscalls[0].action, "SCMP_ACT_ALLOW");
  EXPECT_FALSE(s.syscalls[0].errno_ret);
  ASSERT_EQ(s.syscalls[1].args.size(), 1u);
  EXPECT_EQ(s.syscalls[1].args[0].index, 0u);
  EXPECT_EQ(s.syscalls[1].args[0].value, 8u);
  EXPECT_EQ(s.syscalls[1].args[0].value_two, 0u);
  EXPECT_EQ(s.syscalls[1].args[0].op, "SCMP_CMP_EQ");
  EXPECT_EQ(s.syscalls[2].errno_ret, 38u);
  EXPECT_EQ(s.syscalls[2].args[0].value, 2114060288u);
  EXPECT_EQ(s.syscalls[2].args[0].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(s.syscalls[3].action, "SCMP_ACT_NOTIFY");
}

TEST_F(OciFullConfigTest, PassesValidation) {
  Result<void> valid = ValidateSpec(spec_);
  EXPECT_TRUE(valid) << valid.error().ToString();
}

TEST(OciSpecJsonTest, CrunGeneratedSpecParsesAndValidates) {
  // The verbatim output of `crun spec` (tab-indented, with an empty inheritable list).
  std::string text = ReadFixture("crun_spec.json");
  ASSERT_FALSE(text.empty());
  Spec spec = ParseOk(text);
  EXPECT_EQ(spec.oci_version, "1.0.0");
  EXPECT_EQ(spec.hostname, "crun");
  ASSERT_TRUE(spec.process);
  EXPECT_THAT(spec.process->args, ElementsAre("sh"));
  EXPECT_TRUE(spec.process->capabilities->inheritable.empty());
  EXPECT_EQ(spec.process->capabilities->ambient.size(), 3u);
  ASSERT_EQ(spec.mounts.size(), 7u);
  EXPECT_EQ(spec.mounts[6].destination, "/sys/fs/cgroup");
  ASSERT_TRUE(spec.linux);
  EXPECT_EQ(spec.linux->namespaces.size(), 5u);
  EXPECT_EQ(spec.linux->masked_paths.size(), 10u);
  EXPECT_TRUE(ValidateSpec(spec));
}

TEST(OciSpecJsonTest, MinimalDocumentLeavesDefaults) {
  Spec spec = ParseOk(R"({"ociVersion": "1.0.2", "root": {"path": "/r"}})");
  EXPECT_EQ(spec.root.path, "/r");
  EXPECT_FALSE(spec.root.readonly);
  EXPECT_FALSE(spec.process);
  EXPECT_FALSE(spec.hooks);
  EXPECT_FALSE(spec.linux);
  EXPECT_TRUE(spec.mounts.empty());
}

TEST(OciSpecJsonTest, UnknownFieldsAtEveryLevelAreIgnored) {
  Spec spec = ParseOk(R"({
    "ociVersion": "1.1.0",
    "futureTopLevel": {"anything": [1, "two", null]},
    "root": {"path": "rootfs", "futureRootField": 7},
    "process": {"args": ["true"], "cwd": "/", "user": {"uid": 1, "futureUserField": "x"},
                "execCPUAffinity": {"initial": "0"}},
    "linux": {"netDevices": {"eth0": {}}, "resources": {"rdma": {"x": {}}, "pids": {"limit": 3}},
              "namespaces": [{"type": "pid", "comment": "new"}]},
    "windows": {"layerFolders": []}
  })");
  EXPECT_EQ(spec.root.path, "rootfs");
  ASSERT_TRUE(spec.process);
  EXPECT_EQ(spec.process->user.uid, 1u);
  ASSERT_TRUE(spec.linux);
  ASSERT_TRUE(spec.linux->resources && spec.linux->resources->pids);
  EXPECT_EQ(spec.linux->resources->pids->limit, 3);
  ASSERT_EQ(spec.linux->namespaces.size(), 1u);
  EXPECT_EQ(spec.linux->namespaces[0].type, "pid");
}

TEST(OciSpecJsonTest, NullMeansAbsent) {
  Spec spec = ParseOk(R"({
    "ociVersion": "1.1.0", "root": {"path": "rootfs", "readonly": null},
    "hostname": null, "hooks": null, "annotations": null, "mounts": null,
    "process": {"args": ["sh"], "cwd": "/", "oomScoreAdj": null, "consoleSize": null,
                "user": {"uid": 0, "gid": 0, "umask": null, "additionalGids": null},
                "capabilities": null},
    "linux": {"resources": {"memory": {"limit": null, "swap": 100}, "cpu": null},
              "seccomp": null, "sysctl": null}
  })");
  EXPECT_FALSE(spec.root.readonly);
  EXPECT_EQ(spec.hostname, "");
  EXPECT_FALSE(spec.hooks);
  EXPECT_TRUE(spec.annotations.empty());
  ASSERT_TRUE(spec.process);
  EXPECT_FALSE(spec.process->oom_score_adj);
  EXPECT_FALSE(spec.process->console_size);
  EXPECT_FALSE(spec.process->user.umask);
  EXPECT_FALSE(spec.process->capabilities);
  ASSERT_TRUE(spec.linux && spec.linux->resources && spec.linux->resources->memory);
  EXPECT_FALSE(spec.linux->resources->memory->limit);
  EXPECT_EQ(spec.linux->resources->memory->swap, 100);
  EXPECT_FALSE(spec.linux->resources->cpu);
  EXPECT_FALSE(spec.linux->seccomp);
}

TEST(OciSpecJsonTest, ZeroValuedOptionalsArePresent) {
  // The spec distinguishes "oomScoreAdj: 0" and "umask: 0" from their absence.
  Spec spec = ParseOk(R"({"ociVersion": "1.1.0", "root": {"path": "r"},
    "process": {"args": ["sh"], "cwd": "/", "oomScoreAdj": 0, "user": {"umask": 0}}})");
  ASSERT_TRUE(spec.process);
  EXPECT_EQ(spec.process->oom_score_adj, 0);
  EXPECT_EQ(spec.process->user.umask, 0u);
}

TEST(OciSpecJsonTest, IntegerLimitsAreAccepted) {
  Spec spec = ParseOk(R"({"ociVersion": "1.1.0", "root": {"path": "r"},
    "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 4294967295, "gid": 0},
                "oomScoreAdj": -1000},
    "linux": {"resources": {"memory": {"limit": 9223372036854775807, "swap": -9223372036854775808}}}})");
  EXPECT_EQ(spec.process->user.uid, 4294967295u);
  EXPECT_EQ(spec.linux->resources->memory->limit, INT64_MAX);
  EXPECT_EQ(spec.linux->resources->memory->swap, INT64_MIN);
}

TEST(OciSpecJsonTest, SysctlAndAnnotationKeysKeepTheirDots) {
  Spec spec = ParseOk(R"({"ociVersion": "1.1.0", "root": {"path": "r"},
    "annotations": {"a.b/c": "d"},
    "linux": {"sysctl": {"net.core.somaxconn": "1024"}}})");
  EXPECT_THAT(spec.annotations, ElementsAre(Pair("a.b/c", "d")));
  EXPECT_THAT(spec.linux->sysctl, ElementsAre(Pair("net.core.somaxconn", "1024")));
}

TEST(OciSpecJsonTest, ParseProcessReadsAnExecProcessDocument) {
  Result<Process> process = ParseProcess(R"({
    "terminal": false, "user": {"uid": 33, "gid": 33, "additionalGids": [4]},
    "args": ["/usr/bin/env"], "env": ["A=1"], "cwd": "/srv",
    "capabilities": {"bounding": ["CAP_CHOWN"]}, "noNewPrivileges": true,
    "apparmorProfile": "p", "rlimits": [{"type": "RLIMIT_NPROC", "hard": 10, "soft": 5}]
  })");
  ASSERT_TRUE(process) << process.error().ToString();
  EXPECT_FALSE(process->terminal);
  EXPECT_EQ(process->user.uid, 33u);
  EXPECT_THAT(process->user.additional_gids, ElementsAre(4u));
  EXPECT_THAT(process->args, ElementsAre("/usr/bin/env"));
  EXPECT_EQ(process->cwd, "/srv");
  EXPECT_THAT(process->capabilities->bounding, ElementsAre("CAP_CHOWN"));
  EXPECT_TRUE(process->no_new_privileges);
  EXPECT_EQ(process->apparmor_profile, "p");
  ASSERT_EQ(process->rlimits.size(), 1u);
  EXPECT_EQ(process->rlimits[0].soft, 5u);
}

TEST(OciSpecJsonTest, ParseProcessErrorsNameFieldsRelativeToTheDocument) {
  Result<Process> process = ParseProcess(R"({"args": ["sh"], "user": {"uid": "root"}})");
  ASSERT_FALSE(process);
  EXPECT_EQ(process.error().ToString(), "user.uid: expected unsigned integer, got string");
}

TEST(OciSpecJsonTest, ParseResourcesReadsAnUpdateDocument) {
  Result<Resources> resources = ParseResources(R"({
    "memory": {"limit": 1073741824, "swap": 2147483648},
    "cpu": {"quota": -1, "period": 100000, "cpus": "1"},
    "pids": {"limit": -1},
    "blockIO": {"weight": 100},
    "unified": {"pids.max": "max"}
  })");
  ASSERT_TRUE(resources) << resources.error().ToString();
  EXPECT_EQ(resources->memory->limit, 1073741824);
  EXPECT_EQ(resources->memory->swap, 2147483648);
  EXPECT_FALSE(resources->memory->reservation);
  EXPECT_EQ(resources->cpu->quota, -1);
  EXPECT_EQ(resources->cpu->period, 100000u);
  EXPECT_EQ(resources->cpu->cpus, "1");
  EXPECT_EQ(resources->pids->limit, -1);
  EXPECT_EQ(resources->block_io->weight, 100);
  EXPECT_FALSE(resources->network);
  EXPECT_THAT(resources->unified, ElementsAre(Pair("pids.max", "max")));
}

TEST(OciSpecJsonTest, ParseResourcesErrorsNameFieldsRelativeToTheDocument) {
  Result<Resources> resources = ParseResources(R"({"memory": {"limit": "1G"}})");
  ASSERT_FALSE(resources);
  EXPECT_EQ(resources.error().ToString(), "memory.limit: expected integer, got string");
}

class OciLoadSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hull-oci-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    bundle_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(bundle_); }
  void WriteConfig(const std::string& text) { std::ofstream(bundle_ + "/config.json") << text; }
  std::string bundle_;
};

TEST_F(OciLoadSpecTest, ReadsBundleConfig) {
  WriteConfig(R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"}, "hostname": "h"})");
  Result<Spec> spec = LoadSpec(bundle_);
  ASSERT_TRUE(spec) << spec.error().ToString();
  EXPECT_EQ(spec->hostname, "h");
  // A trailing slash on the bundle path makes no difference.
  Result<Spec> again = LoadSpec(bundle_ + "/");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->root.path, "rootfs");
}

TEST_F(OciLoadSpecTest, ErrorsArePrefixedWithTheQuotedPath) {
  WriteConfig(R"({"process": {"args": "sh"}})");
  Result<Spec> spec = LoadSpec(bundle_);
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().ToString(),
            "\"" + bundle_ + "/config.json\": process.args: expected array, got string");
}

TEST_F(OciLoadSpecTest, MissingFileReportsErrno) {
  Result<Spec> spec = LoadSpec(bundle_);
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code(), ENOENT);
  EXPECT_EQ(spec.error().ToString(),
            "open \"" + bundle_ + "/config.json\": No such file or directory");
}

}  // namespace
}  // namespace hull::oci
