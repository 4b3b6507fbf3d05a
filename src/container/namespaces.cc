#include "container/namespaces.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

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

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Whether the user namespace owning the namespace behind `ns_fd` is `user` or nested in it.
// Walks up the owners; one above the caller's own user namespace cannot be looked at (EPERM),
// so the walk ends there with "no".
Result<bool> OwnedWithin(int ns_fd, const struct stat& user) {
  linux::UniqueFd owner(::ioctl(ns_fd, NS_GET_USERNS));
  while (owner.valid()) {
    struct stat st {};
    if (::fstat(owner.get(), &st) != 0) return FailErrno("fstat a user namespace");
    if (SameFile(st, user)) return true;
    int parent = ::ioctl(owner.get(), NS_GET_PARENT);
    if (parent < 0) break;
    owner.reset(parent);
  }
  if (errno == EPERM) return false;
  return FailErrno("find the user namespace owning a namespace (ioctl NS_GET_USERNS)");
}

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
    plan.joins.push_back({flag, std::move(*fd), ns.path});
  }
  TRY_CTX(OrderJoins(plan.joins), "linux.namespaces");
  return plan;
}

Result<void> OrderJoins(std::vector<NamespaceJoin>& joins) {
  auto user = std::find_if(joins.begin(), joins.end(),
                           [](const NamespaceJoin& j) { return j.flag == CLONE_NEWUSER; });
  if (user == joins.end()) return {};
  struct stat user_stat {};
  if (::fstat(user->fd.get(), &user_stat) != 0) return FailErrno("fstat " + Quote(user->path));
  std::vector<NamespaceJoin> before, after;
  for (auto& join : joins) {
    if (join.flag == CLONE_NEWUSER) continue;
    bool owned = TRY_CTX(OwnedWithin(join.fd.get(), user_stat), Quote(join.path));
    (owned ? after : before).push_back(std::move(join));
  }
  before.push_back(std::move(*user));
  for (auto& join : after) before.push_back(std::move(join));
  joins = std::move(before);
  return {};
}

Result<std::vector<NamespaceJoin>> OpenNamespacesOf(pid_t pid, std::initializer_list<int> flags) {
  std::vector<NamespaceJoin> joins;
  for (int flag : flags) {
    std::string own = std::string("/proc/self/ns/") + NamespaceProcName(flag);
    if (::access(own.c_str(), F_OK) != 0) continue;  // a kernel without this namespace type
    if (SameNamespaceAs(pid, flag)) continue;
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + NamespaceProcName(flag);
    joins.push_back({flag, TRY(linux::Open(path, O_RDONLY)), path});
  }
  TRY(OrderJoins(joins));
  return joins;
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
