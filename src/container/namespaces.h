// Namespaces of a container: which to create (clone flags) and which to join (by path).
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"
#include "oci/runtime_spec.h"

namespace hull::container {

// CLONE_NEW* flag of a spec namespace type ("network" -> CLONE_NEWNET), or 0 if unknown.
int NamespaceFlag(std::string_view type);
// The /proc/PID/ns/ file name of a flag ("net").
const char* NamespaceProcName(int flag);

struct NamespaceJoin {
  int flag = 0;
  linux::UniqueFd fd;  // opened in the runtime, setns() in the child
  std::string path;    // for messages
};

struct NamespacePlan {
  int new_flags = 0;                 // CLONE_NEW* to create
  std::vector<NamespaceJoin> joins;  // in the order to join them (OrderJoins)
  bool new_user() const { return new_flags & CLONE_NEWUSER; }
  bool new_pid() const { return new_flags & CLONE_NEWPID; }
  bool joins_flag(int flag) const;
};

// Opens every namespace path (errors name linux.namespaces[i].path) and collects new flags.
[[nodiscard]] Result<NamespacePlan> PlanNamespaces(const std::vector<oci::Namespace>& namespaces);

// Puts `joins` in the order one process can make them with setns(). Joining a user namespace
// trades the privileges of the current one for those of the joined one, so the namespaces it
// does not own (for instance a network namespace made on the host with `ip netns add`) are
// joined before it, while the runtime's privileges still apply, and those it owns (directly or
// through a nested user namespace) after it, which also works for a caller privileged only in
// the joined user namespace. Without a user namespace among them the order is kept.
[[nodiscard]] Result<void> OrderJoins(std::vector<NamespaceJoin>& joins);

// Opens the namespaces of process `pid` of the given types that differ from this process's,
// in the order OrderJoins gives. Types this kernel does not have are left out.
[[nodiscard]] Result<std::vector<NamespaceJoin>> OpenNamespacesOf(pid_t pid,
                                                                  std::initializer_list<int> flags);

// Whether process `pid` is in the same namespace of type `flag` as this process.
bool SameNamespaceAs(pid_t pid, int flag);

// Checks that fds 3 .. 3+count-1 are open, as --preserve-fds promises the container.
[[nodiscard]] Result<void> CheckPreservedFds(int count);

// "0 1000 1\n..." for /proc/PID/uid_map.
std::string FormatIdMap(const std::vector<oci::IdMapping>& mappings);
// Writes uid_map, setgroups ("deny" only when a single unprivileged mapping needs it) and
// gid_map of `pid`. Falls back to newuidmap/newgidmap is not done: the runtime runs as root.
[[nodiscard]] Result<void> WriteIdMaps(pid_t pid, const std::vector<oci::IdMapping>& uids,
                                       const std::vector<oci::IdMapping>& gids);
// "monotonic S N\nboottime S N\n" for /proc/PID/timens_offsets.
std::string FormatTimeOffsets(const std::map<std::string, oci::TimeOffset>& offsets);

}  // namespace hull::container
