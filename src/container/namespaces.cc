#include "container/namespaces.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/file.h"

namespace hull::container {

namespace {
struct NamespaceName {
  std::string_view spec_name;
  const char* proc_name;
  int flag;
};
constexpr NamespaceName kNamespaces[] = {
    {"user", "user", CLONE_NEWUSER},     {"pid", "pid", CLONE_NEWPID},
    {"network", "net", CLONE_NEWNET},    {"mount", "mnt", CLONE_NEWNS},
    {"ipc", "ipc", CLONE_NEWIPC},        {"uts", "uts", CLONE_NEWUTS},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", CLONE_NEWTIME},
};
}  // namespace

int NamespaceFlag(std::string_view type) {
  for (const auto& ns : kNamespaces)
    if (ns.spec_name == type) return ns.flag;
  return 0;
}

const char* NamespaceProcName(int flag) {
  for (const auto& ns : kNamespaces)
    if (ns.flag == flag) return ns.proc_name;
  return "";
}

bool NamespacePlan::joins_flag(int flag) const {
  for (const auto& j : joins)
    if (j.flag == flag) return true;
  return false;
}

Result<NamespacePlan> PlanNamespaces(const std::vector<oci::Namespace>& namespaces) {
  NamespacePlan plan;
  for (size_t i = 0; i < namespaces.size(); ++i) {
    const auto& ns = namespaces[i];
    std::string field = "linux.namespaces[" + std::to_string(i) + "]";
    int flag = NamespaceFlag(ns.type);
    if (flag == 0) return Fail(EINVAL, field + ".type: unknown namespace type " + Quote(ns.type));
    if (ns.path.empty()) {
      plan.new_flags |= flag;
      continue;
    }
    auto fd = linux::Open(ns.path, O_RDONLY);
    if (!fd) return tl::unexpected(std::move(fd.error()).Wrap(field + ".path"));
    NamespaceJoin join{flag, std::move(*fd), ns.path};
    if (flag == CLONE_NEWUSER)
      plan.joins.insert(plan.joins.begin(), std::move(join));
    else
      plan.joins.push_back(std::move(join));
  }
  return plan;
}

bool SameNamespaceAs(pid_t pid, int flag) {
  struct stat ours {}, theirs {};
  std::string self = std::string("/proc/self/ns/") + NamespaceProcName(flag);
  std::string other = "/proc/" + std::to_string(pid) + "/ns/" + NamespaceProcName(flag);
  if (::stat(self.c_str(), &ours) != 0 || ::stat(other.c_str(), &theirs) != 0) return false;
  return ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev;
}

Result<void> CheckPreservedFds(int count) {
  for (int fd = 3; fd < 3 + count; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0)
      return Fail(EBADF, "--preserve-fds " + std::to_string(count) + ": fd " +
                             std::to_string(fd) + " is not open");
  }
  return {};
}

std::string FormatIdMap(const std::vector<oci::IdMapping>& mappings) {
  std::string out;
  for (const auto& m : mappings)
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  return out;
}

Result<void> WriteIdMaps(pid_t pid, const std::vector<oci::IdMapping>& uids,
                         const std::vector<oci::IdMapping>& gids) {
  std::string base = "/proc/" + std::to_string(pid);
  if (!uids.empty())
    TRY_CTX(linux::WriteFile(base + "/uid_map", FormatIdMap(uids), O_WRONLY), "linux.uidMappings");
  if (!gids.empty())
    TRY_CTX(linux::WriteFile(base + "/gid_map", FormatIdMap(gids), O_WRONLY), "linux.gidMappings");
  return {};
}

std::string FormatTimeOffsets(const std::map<std::string, oci::TimeOffset>& offsets) {
  std::string out;
  for (const auto& [clock, offset] : offsets)
    out += clock + " " + std::to_string(offset.secs) + " " + std::to_string(offset.nanosecs) + "\n";
  return out;
}

}  // namespace hull::container
