#include "linux/cgroupfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "base/strings.h"
#include "linux/file.h"
#include "linux/unique_fd.h"

namespace hull::linux {

Result<void> WriteCgroupFile(const std::string& path, std::string_view value) {
  int raw;
  do {
    // O_TRUNC is what a shell's `echo >` does; cgroupfs ignores it, regular files (test
    // fixtures) need it.
    raw = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) return FailErrno("write " + Quote(path));
  UniqueFd fd(raw);
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return FailErrno("write " + Quote(path));
  if (static_cast<size_t>(n) != value.size()) return Fail(EIO, "short write " + Quote(path));
  return {};
}

Result<std::string> ReadCgroupFile(const std::string& path) {
  std::string text = TRY(ReadFile(path));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

Result<uint64_t> ReadCgroupUint(const std::string& path) {
  std::string text = TRY(ReadCgroupFile(path));
  auto value = ParseUint(Trim(text));
  if (!value) return Fail(EINVAL, "read " + Quote(path) + ": not a number " + Quote(text));
  return *value;
}

std::map<std::string, uint64_t> ParseFlatKeyed(std::string_view text) {
  std::map<std::string, uint64_t> out;
  for (const std::string& line : Split(text, '\n')) {
    size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    auto value = ParseUint(Trim(std::string_view(line).substr(space + 1)));
    if (value) out[line.substr(0, space)] = *value;
  }
  return out;
}

Result<std::vector<std::string>> ListCgroupChildren(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), ::closedir);
  if (!handle) return FailErrno("opendir " + Quote(dir));
  std::vector<std::string> children;
  errno = 0;
  while (dirent* entry = ::readdir(handle.get())) {
    std::string name = entry->d_name;
    if (name == "." || name == ".." || entry->d_type != DT_DIR) continue;
    children.push_back(std::move(name));
  }
  if (errno != 0) return FailErrno("readdir " + Quote(dir));
  return children;
}

Result<std::vector<pid_t>> ReadCgroupProcs(const std::string& dir) {
  std::string text = TRY(ReadCgroupFile(dir + "/cgroup.procs"));
  std::vector<pid_t> pids;
  for (const std::string& line : Split(text, '\n')) {
    auto pid = ParseInt(Trim(line));
    if (pid) pids.push_back(static_cast<pid_t>(*pid));
  }
  return pids;
}

bool IsCgroup2Directory(const std::string& dir) {
  struct statfs info {};
  return ::statfs(dir.c_str(), &info) == 0 && info.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace hull::linux
