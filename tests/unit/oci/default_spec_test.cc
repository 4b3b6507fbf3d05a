// `hull spec`: the default config must be what runc users expect, and must be usable as is.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "oci/spec_json.h"
#include "oci/validate.h"

namespace hull::oci {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

Spec ParseDefault(bool rootless, uint32_t uid = 0, uint32_t gid = 0) {
  Result<Spec> spec = ParseSpec(DefaultSpecJson(rootless, uid, gid));
  EXPECT_TRUE(spec) << spec.error().ToString();
  return spec ? *spec : Spec{};
}

const Mount* FindMount(const Spec& spec, std::string_view destination) {
  for (const Mount& m : spec.mounts) {
    if (m.destination == destination) return &m;
  }
  return nullptr;
}

std::vector<std::string> NamespaceTypes(const Spec& spec) {
  std::vector<std::string> types;
  for (const Namespace& ns : spec.linux->namespaces) types.push_back(ns.type);
  return types;
}

TEST(OciDefaultSpecTest, IsPrettyPrintedWithTwoSpaces) {
  std::string json = DefaultSpecJson(false, 0, 0);
  EXPECT_EQ(
      json.rfind("{\n  \"ociVersion\": \"1.1.0\",\n  \"process\": {\n    \"terminal\": true,", 0),
      0u)
      << json.substr(0, 120);
  EXPECT_EQ(json.back(), '\n');
  EXPECT_EQ(json.find('\t'), std::string::npos);
}

TEST(OciDefaultSpecTest, ProcessDefaults) {
  Spec spec = ParseDefault(false);
  EXPECT_EQ(spec.oci_version, "1.1.0");
  ASSERT_TRUE(spec.process);
  const Process& p = *spec.process;
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.user.uid, 0u);
  EXPECT_EQ(p.user.gid, 0u);
  EXPECT_THAT(p.args, ElementsAre("sh"));
  EXPECT_THAT(p.env,
              ElementsAre("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "TERM=xterm"));
  EXPECT_EQ(p.cwd, "/");
  ASSERT_TRUE(p.capabilities);
  for (const auto* set :
       {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted}) {
    EXPECT_THAT(*set, ElementsAre("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"));
  }
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  EXPECT_TRUE(p.capabilities->ambient.empty());
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(p.rlimits[0].hard, 1024u);
  EXPECT_EQ(p.rlimits[0].soft, 1024u);
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(spec.root.path, "rootfs");
  EXPECT_TRUE(spec.root.readonly);
  EXPECT_EQ(spec.hostname, "hull");
}

TEST(OciDefaultSpecTest, StandardMounts) {
  Spec spec = ParseDefault(false);
  std::vector<std::string> destinations;
  for (const Mount& m : spec.mounts) destinations.push_back(m.destination);
  EXPECT_THAT(destinations, ElementsAre("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                                        "/sys", "/sys/fs/cgroup"));
  const Mount* proc = FindMount(spec, "/proc");
  EXPECT_EQ(proc->type, "proc");
  EXPECT_EQ(proc->source, "proc");
  EXPECT_TRUE(proc->options.empty());
  EXPECT_THAT(FindMount(spec, "/dev")->options,
              ElementsAre("nosuid", "strictatime", "mode=755", "size=65536k"));
  const Mount* pts = FindMount(spec, "/dev/pts");
  EXPECT_EQ(pts->type, "devpts");
  EXPECT_THAT(pts->options, ElementsAre("nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                        "mode=0620", "gid=5"));
  const Mount* shm = FindMount(spec, "/dev/shm");
  EXPECT_EQ(shm->type, "tmpfs");
  EXPECT_EQ(shm->source, "shm");
  EXPECT_THAT(shm->options, ElementsAre("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"));
  EXPECT_THAT(FindMount(spec, "/dev/mqueue")->options, ElementsAre("nosuid", "noexec", "nodev"));
  const Mount* sys = FindMount(spec, "/sys");
  EXPECT_EQ(sys->type, "sysfs");
  EXPECT_THAT(sys->options, ElementsAre("nosuid", "noexec", "nodev", "ro"));
  const Mount* cgroup = FindMount(spec, "/sys/fs/cgroup");
  EXPECT_EQ(cgroup->type, "cgroup");
  EXPECT_THAT(cgroup->options, ElementsAre("nosuid", "noexec", "nodev", "relatime", "ro"));
}

TEST(OciDefaultSpecTest, LinuxDefaults) {
  Spec spec = ParseDefault(false);
  ASSERT_TRUE(spec.linux);
  EXPECT_THAT(NamespaceTypes(spec), ElementsAre("pid", "network", "ipc", "uts", "mount", "cgroup"));
  EXPECT_TRUE(spec.linux->uid_mappings.empty());
  ASSERT_TRUE(spec.linux->resources);
  ASSERT_EQ(spec.linux->resources->devices.size(), 1u);
  EXPECT_FALSE(spec.linux->resources->devices[0].allow);
  EXPECT_EQ(spec.linux->resources->devices[0].access, "rwm");
  EXPECT_THAT(spec.linux->masked_paths, Contains("/proc/kcore"));
  EXPECT_THAT(spec.linux->masked_paths, Contains("/sys/firmware"));
  EXPECT_THAT(spec.linux->readonly_paths, ElementsAre("/proc/bus", "/proc/fs", "/proc/irq",
                                                      "/proc/sys", "/proc/sysrq-trigger"));
}

TEST(OciDefaultSpecTest, RootlessMapsCallerAndDropsPrivilegedParts) {
  Spec spec = ParseDefault(true, 1000, 1001);
  ASSERT_TRUE(spec.linux);
  EXPECT_THAT(NamespaceTypes(spec), Not(Contains("network")));
  EXPECT_THAT(NamespaceTypes(spec), Contains("user"));
  ASSERT_EQ(spec.linux->uid_mappings.size(), 1u);
  EXPECT_EQ(spec.linux->uid_mappings[0].container_id, 0u);
  EXPECT_EQ(spec.linux->uid_mappings[0].host_id, 1000u);
  EXPECT_EQ(spec.linux->uid_mappings[0].size, 1u);
  ASSERT_EQ(spec.linux->gid_mappings.size(), 1u);
  EXPECT_EQ(spec.linux->gid_mappings[0].host_id, 1001u);
  EXPECT_EQ(spec.linux->gid_mappings[0].size, 1u);
  EXPECT_FALSE(spec.linux->resources);
  const Mount* sys = FindMount(spec, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_EQ(sys->source, "/sys");
  EXPECT_THAT(sys->options, ElementsAre("rbind", "nosuid", "noexec", "nodev", "ro"));
  EXPECT_EQ(FindMount(spec, "/sys/fs/cgroup"), nullptr);
  EXPECT_THAT(FindMount(spec, "/dev/pts")->options, Not(Contains("gid=5")));
  // Everything else matches the privileged default.
  EXPECT_THAT(spec.process->args, ElementsAre("sh"));
  EXPECT_EQ(spec.hostname, "hull");
}

TEST(OciDefaultSpecTest, BothVariantsPassValidation) {
  Result<void> privileged = ValidateSpec(ParseDefault(false));
  EXPECT_TRUE(privileged) << privileged.error().ToString();
  Result<void> rootless = ValidateSpec(ParseDefault(true, 1000, 1000));
  EXPECT_TRUE(rootless) << rootless.error().ToString();
}

}  // namespace
}  // namespace hull::oci
