// What a container can leave behind on the host, looked up from the outside: cgroup directories,
// mounts, processes, descriptors. Each function returns human-readable findings (empty = clean).
#pragma once

#include <string>
#include <vector>

namespace hull::testing {

// Mount points of every cgroup (v1) and cgroup2 filesystem of our mount namespace.
std::vector<std::string> CgroupHierarchies();
// Cgroup directories named `name` anywhere in any hierarchy (searched a few levels deep).
std::vector<std::string> CgroupDirsNamed(const std::string& name);
// Removes every cgroup directory named `name` in every hierarchy, children first (only empty
// cgroups can be removed; returns those that could not).
std::vector<std::string> RemoveCgroupTrees(const std::string& name);
// Mount points at or below `path` in /proc/self/mountinfo.
std::vector<std::string> MountsUnder(const std::string& path);
// Processes whose environment holds `key_value` exactly, or whose cgroup path ends in
// "/" + cgroup_name (if given). Descriptions like "pid 123 (sleep)".
std::vector<std::string> ProcessesMarked(const std::string& key_value,
                                         const std::string& cgroup_name = "");
// Processes whose command line mentions `text` (e.g. a runtime --root directory).
std::vector<std::string> ProcessesMentioning(const std::string& text);
// Our open descriptors as "fd -> target".
std::vector<std::string> OpenFds();
// Joins findings for a failure message.
std::string JoinLines(const std::vector<std::string>& lines);

}  // namespace hull::testing
