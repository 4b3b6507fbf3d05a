// Access to cgroupfs control files (v1 and v2). The kernel parses each write(2) to a control
// file as one whole value, so values are written in a single call to an existing file (never
// created). Errors name the file: `write "/sys/fs/cgroup/pids/x/pids.max": Invalid argument`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hull::linux {

[[nodiscard]] Result<void> WriteCgroupFile(const std::string& path, std::string_view value);
// The file's content without the trailing newline.
[[nodiscard]] Result<std::string> ReadCgroupFile(const std::string& path);
// A file holding one unsigned decimal number.
[[nodiscard]] Result<uint64_t> ReadCgroupUint(const std::string& path);
// "key value" lines (memory.stat, cpu.stat, cgroup.events); lines whose value is not an
// unsigned number are skipped.
std::map<std::string, uint64_t> ParseFlatKeyed(std::string_view text);
// Names of the child cgroups (subdirectories) of `dir`.
[[nodiscard]] Result<std::vector<std::string>> ListCgroupChildren(const std::string& dir);
// The pids in `dir`/cgroup.procs, in file order.
[[nodiscard]] Result<std::vector<pid_t>> ReadCgroupProcs(const std::string& dir);
// Whether `dir` is on a cgroup2 filesystem (false also when it cannot be examined).
bool IsCgroup2Directory(const std::string& dir);

}  // namespace hull::linux
