#include "support/bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include "support/command.h"
#include "support/files.h"

namespace hull::testing {

using nlohmann::json;

std::string BusyboxPath() {
  for (const char* candidate : {"/bin/busybox", "/usr/bin/busybox"})
    if (::access(candidate, X_OK) == 0) return candidate;
  return "";
}

bool BuildBusyboxRootfs(const std::string& rootfs) {
  std::string busybox = BusyboxPath();
  if (busybox.empty()) return false;
  for (const char* dir : {"bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root", "home/tester",
                          "var", "run", "mnt", "usr/bin"})
    if (!MakeDirs(rootfs + "/" + dir)) return false;
  ::chmod((rootfs + "/tmp").c_str(), 01777);
  if (!WriteFile(rootfs + "/bin/busybox", ReadFile(busybox), 0755)) return false;
  CommandResult list = RunCommand({busybox, "--list"});
  if (!list.ok()) return false;
  for (const auto& applet : SplitLines(list.out)) {
    if (applet.empty() || applet == "busybox") continue;
    (void)::symlink("busybox", (rootfs + "/bin/" + applet).c_str());
  }
  return WriteFile(rootfs + "/etc/passwd",
                   "root:x:0:0:root:/root:/bin/sh\n"
                   "tester:x:1000:1000:tester:/home/tester:/bin/sh\n"
                   "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n") &&
         WriteFile(rootfs + "/etc/group",
                   "root:x:0:\n"
                   "tester:x:1000:\n"
                   "extra:x:1001:tester\n"
                   "nogroup:x:65534:\n");
}

json DefaultConfig() {
  const json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  return json{
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"true"}},
        {"env", {"PATH=/bin:/sbin:/usr/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", false}}},
      {"hostname", "hull-test"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"},
         {"type", "mqueue"},
         {"source", "mqueue"},
         {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"},
         {"type", "sysfs"},
         {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/sys/fs/cgroup"},
         {"type", "cgroup"},
         {"source", "cgroup"},
         {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}}}},
      {"linux",
       {{"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
        {"namespaces",
         {{{"type", "pid"}},
          {{"type", "network"}},
          {{"type", "ipc"}},
          {{"type", "uts"}},
          {{"type", "mount"}}}},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
          "/proc/scsi"}},
        {"readonlyPaths",
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}}};
}

Bundle::Bundle(std::string dir, std::string shared_rootfs)
    : dir_(std::move(dir)), shared_rootfs_(std::move(shared_rootfs)), config_(DefaultConfig()) {
  ok_ = MakeDirs(dir_);
  if (shared_rootfs_.empty())
    ok_ = ok_ && BuildBusyboxRootfs(dir_ + "/rootfs");
  else
    config_["root"]["path"] = shared_rootfs_;
}

std::string Bundle::rootfs() const {
  return shared_rootfs_.empty() ? dir_ + "/rootfs" : shared_rootfs_;
}

Bundle& Bundle::Args(std::vector<std::string> args) {
  process()["args"] = std::move(args);
  return *this;
}
Bundle& Bundle::Shell(const std::string& script) { return Args({"sh", "-c", script}); }
Bundle& Bundle::Env(const std::string& key_value) {
  process()["env"].push_back(key_value);
  return *this;
}
Bundle& Bundle::User(unsigned uid, unsigned gid, std::vector<unsigned> additional_gids) {
  process()["user"] = {{"uid", uid}, {"gid", gid}};
  if (!additional_gids.empty()) process()["user"]["additionalGids"] = additional_gids;
  return *this;
}
Bundle& Bundle::Umask(unsigned umask) {
  process()["user"]["umask"] = umask;
  return *this;
}
Bundle& Bundle::Cwd(const std::string& cwd) {
  process()["cwd"] = cwd;
  return *this;
}
Bundle& Bundle::Hostname(const std::string& hostname) {
  config_["hostname"] = hostname;
  return *this;
}
Bundle& Bundle::Terminal(bool on) {
  process()["terminal"] = on;
  return *this;
}
Bundle& Bundle::ReadonlyRoot(bool on) {
  config_["root"]["readonly"] = on;
  return *this;
}
Bundle& Bundle::NoNewPrivileges(bool on) {
  process()["noNewPrivileges"] = on;
  return *this;
}
Bundle& Bundle::Capabilities(const std::vector<std::string>& caps) {
  process()["capabilities"] = {{"bounding", caps},
                               {"effective", caps},
                               {"permitted", caps},
                               {"inheritable", json::array()},
                               {"ambient", json::array()}};
  return *this;
}
Bundle& Bundle::Rlimit(const std::string& type, unsigned long long soft, unsigned long long hard) {
  json& limits = process()["rlimits"];
  for (auto it = limits.begin(); it != limits.end(); ++it) {
    if ((*it)["type"] == type) {
      limits.erase(it);
      break;
    }
  }
  limits.push_back({{"type", type}, {"soft", soft}, {"hard", hard}});
  return *this;
}
Bundle& Bundle::Mount(const std::string& destination, const std::string& type,
                      const std::string& source, std::vector<std::string> options) {
  json mount = {{"destination", destination}, {"type", type}, {"source", source}};
  if (!options.empty()) mount["options"] = std::move(options);
  config_["mounts"].push_back(std::move(mount));
  return *this;
}
Bundle& Bundle::BindMount(const std::string& host_path, const std::string& destination,
                          bool readonly) {
  std::vector<std::string> options = {"rbind", "rprivate"};
  if (readonly) options.push_back("ro");
  return Mount(destination, "bind", host_path, options);
}
Bundle& Bundle::RemoveMount(const std::string& destination) {
  json& mounts = config_["mounts"];
  for (auto it = mounts.begin(); it != mounts.end();) {
    if ((*it)["destination"] == destination)
      it = mounts.erase(it);
    else
      ++it;
  }
  return *this;
}
Bundle& Bundle::RemoveNamespace(const std::string& type) {
  json& namespaces = linux()["namespaces"];
  for (auto it = namespaces.begin(); it != namespaces.end();) {
    if ((*it)["type"] == type)
      it = namespaces.erase(it);
    else
      ++it;
  }
  return *this;
}
Bundle& Bundle::AddNamespace(const std::string& type, const std::string& path) {
  RemoveNamespace(type);
  json entry = {{"type", type}};
  if (!path.empty()) entry["path"] = path;
  linux()["namespaces"].push_back(entry);
  return *this;
}
Bundle& Bundle::MaskedPaths(std::vector<std::string> paths) {
  linux()["maskedPaths"] = std::move(paths);
  return *this;
}
Bundle& Bundle::ReadonlyPaths(std::vector<std::string> paths) {
  linux()["readonlyPaths"] = std::move(paths);
  return *this;
}
Bundle& Bundle::SeccompDeny(const std::vector<std::string>& syscalls, int errno_value) {
  linux()["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"syscalls",
       {{{"names", syscalls}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", errno_value}}}}};
  return *this;
}
Bundle& Bundle::Hook(const std::string& kind, std::vector<std::string> args, int timeout_seconds) {
  json hook = {{"path", args.at(0)}, {"args", args}};
  if (timeout_seconds > 0) hook["timeout"] = timeout_seconds;
  config_["hooks"][kind].push_back(std::move(hook));
  return *this;
}
Bundle& Bundle::Resources(const nlohmann::json& resources) {
  linux()["resources"].merge_patch(resources);
  return *this;
}
Bundle& Bundle::CgroupsPath(const std::string& path) {
  linux()["cgroupsPath"] = path;
  return *this;
}

bool Bundle::Write() const { return WriteFile(config_path(), config_.dump(2) + "\n"); }

}  // namespace hull::testing
