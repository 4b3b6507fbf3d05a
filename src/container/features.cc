#include "container/features.h"

#include <seccomp.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "base/version.h"
#include "container/cgroup.h"
#include "linux/file.h"
#include "oci/capability_names.h"

namespace hull::container {

std::string FeaturesJson() {
  using nlohmann::json;
  json caps = json::array();
  int last_cap = 40;
  if (auto text = linux::ReadFile("/proc/sys/kernel/cap_last_cap"))
    if (auto n = ParseInt(Trim(*text))) last_cap = static_cast<int>(*n);
  for (int i = 0; i <= last_cap && i < static_cast<int>(std::size(oci::kCapabilityNames)); ++i)
    caps.push_back(oci::kCapabilityNames[i]);

  bool v1 = false, v2 = false;
  if (auto layout = DetectCgroupLayout()) {
    v1 = !layout->v1_hierarchies.empty();
    v2 = !layout->unified_mount.empty();
  }
  auto apparmor = linux::ReadFile("/sys/module/apparmor/parameters/enabled");
  json features = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", kOciSpecVersion},
      {"hooks",
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
        "poststop"}},
      {"mountOptions",
       {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "mand",
        "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime",
        "nosuid", "private", "rbind", "relatime", "remount", "ro", "rprivate", "rshared",
        "rslave", "runbindable", "rw", "shared", "slave", "strictatime", "suid", "sync",
        "unbindable"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
        {"capabilities", caps},
        {"cgroup", {{"v1", v1}, {"v2", v2}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
          {"operators",
           {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
            "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
          {"archs",
           {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X32", "SCMP_ARCH_X86",
            "SCMP_ARCH_X86_64"}},
          {"knownFlags",
           {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_LOG"}},
          {"supportedFlags",
           {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_LOG"}}}},
        {"apparmor", {{"enabled", apparmor && Trim(*apparmor) == "Y"}}},
        {"selinux", {{"enabled", linux::Exists("/sys/fs/selinux/enforce")}}},
        {"intelRdt", {{"enabled", false}}}}},
      {"annotations",
       {{"io.github.hull.version", kVersion},
        {"io.github.seccomp.libseccomp.version",
         std::to_string(seccomp_version()->major) + "." +
             std::to_string(seccomp_version()->minor) + "." +
             std::to_string(seccomp_version()->micro)}}}};
  return features.dump(2);
}

}  // namespace hull::container
