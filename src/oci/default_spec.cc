// The config.json that `hull spec` writes: the same defaults runc's `spec` uses, so bundles
// made for one runtime work with the other.
#include <nlohmann/json.hpp>

#include "oci/spec_json.h"

namespace hull::oci {
namespace {

using OrderedJson = nlohmann::ordered_json;

OrderedJson MountEntry(const char* destination, const char* type, const char* source,
                       std::vector<std::string> options) {
  OrderedJson mount;
  mount["destination"] = destination;
  mount["type"] = type;
  mount["source"] = source;
  if (!options.empty()) mount["options"] = std::move(options);
  return mount;
}

OrderedJson DefaultProcess() {
  const std::vector<std::string> capabilities = {"CAP_AUDIT_WRITE", "CAP_KILL",
                                                 "CAP_NET_BIND_SERVICE"};
  OrderedJson process;
  process["terminal"] = true;
  process["user"] = {{"uid", 0}, {"gid", 0}};
  process["args"] = std::vector<std::string>{"sh"};
  process["env"] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"};
  process["cwd"] = "/";
  process["capabilities"] = {
      {"bounding", capabilities}, {"effective", capabilities}, {"permitted", capabilities}};
  process["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}};
  process["noNewPrivileges"] = true;
  return process;
}

OrderedJson DefaultMounts(bool rootless) {
  OrderedJson mounts = OrderedJson::array();
  mounts.push_back(MountEntry("/proc", "proc", "proc", {}));
  mounts.push_back(
      MountEntry("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  std::vector<std::string> devpts = {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                     "mode=0620"};
  // gid 5 (tty) is not mapped in a rootless user namespace; devpts would refuse it.
  if (!rootless) devpts.push_back("gid=5");
  mounts.push_back(MountEntry("/dev/pts", "devpts", "devpts", devpts));
  mounts.push_back(MountEntry("/dev/shm", "tmpfs", "shm",
                              {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(MountEntry("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (rootless) {
    // Without its own network namespace, a container may not mount a fresh sysfs; it gets a
    // read-only view of the host's instead. The cgroup mount is left out for the same reason.
    mounts.push_back(
        MountEntry("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  } else {
    mounts.push_back(MountEntry("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
    mounts.push_back(MountEntry("/sys/fs/cgroup", "cgroup", "cgroup",
                                {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  }
  return mounts;
}

OrderedJson DefaultLinux(bool rootless, uint32_t uid, uint32_t gid) {
  OrderedJson linux_json;
  if (rootless) {
    linux_json["uidMappings"] = {{{"containerID", 0}, {"hostID", uid}, {"size", 1}}};
    linux_json["gidMappings"] = {{{"containerID", 0}, {"hostID", gid}, {"size", 1}}};
  } else {
    // Deny every device; the runtime adds back the standard ones (/dev/null, ...).
    linux_json["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  }
  OrderedJson namespaces = OrderedJson::array();
  for (const char* type : {"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
    if (rootless && std::string_view(type) == "network") continue;
    namespaces.push_back({{"type", type}});
  }
  if (rootless) namespaces.push_back({{"type", "user"}});
  linux_json["namespaces"] = std::move(namespaces);
  linux_json["maskedPaths"] = {"/proc/acpi",
                               "/proc/asound",
                               "/proc/kcore",
                               "/proc/keys",
                               "/proc/latency_stats",
                               "/proc/timer_list",
                               "/proc/timer_stats",
                               "/proc/sched_debug",
                               "/sys/firmware",
                               "/proc/scsi",
                               "/sys/devices/virtual/powercap"};
  linux_json["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                 "/proc/sysrq-trigger"};
  return linux_json;
}

}  // namespace

std::string DefaultSpecJson(bool rootless, uint32_t uid, uint32_t gid) {
  OrderedJson spec;
  spec["ociVersion"] = "1.1.0";
  spec["process"] = DefaultProcess();
  spec["root"] = {{"path", "rootfs"}, {"readonly", true}};
  spec["hostname"] = "hull";
  spec["mounts"] = DefaultMounts(rootless);
  spec["linux"] = DefaultLinux(rootless, uid, gid);
  return spec.dump(2) + "\n";
}

}  // namespace hull::oci
