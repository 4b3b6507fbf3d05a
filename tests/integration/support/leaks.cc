#include "support/leaks.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "support/files.h"

namespace hull::testing {
namespace {

std::string ReadLink(const std::string& path) {
  char buffer[4096];
  ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
}

std::string Comm(const std::string& pid) { return Trim(ReadFile("/proc/" + pid + "/comm")); }

bool IsNumber(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

void FindDirs(const std::string& dir, const std::string& name, int depth,
              std::vector<std::string>& found) {
  if (depth < 0) return;
  DIR* handle = ::opendir(dir.c_str());
  if (!handle) return;
  while (struct dirent* entry = ::readdir(handle)) {
    if (entry->d_type != DT_DIR) continue;
    std::string child = entry->d_name;
    if (child == "." || child == "..") continue;
    std::string path = dir + "/" + child;
    if (child == name) found.push_back(path);
    FindDirs(path, name, depth - 1, found);
  }
  ::closedir(handle);
}

// Unescapes the octal escapes (\040 for space) of /proc/self/mountinfo.
std::string Unescape(const std::string& text) {
  std::string plain;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && isdigit(static_cast<unsigned char>(text[i + 1]))) {
      plain += static_cast<char>(std::stoi(text.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      plain += text[i];
    }
  }
  return plain;
}

}  // namespace

std::vector<std::string> CgroupHierarchies() {
  std::vector<std::string> hierarchies;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
    std::string id, parent, devno, root, mount_point, fstype;
    head >> id >> parent >> devno >> root >> mount_point;
    tail >> fstype;
    if (fstype == "cgroup" || fstype == "cgroup2") hierarchies.push_back(Unescape(mount_point));
  }
  return hierarchies;
}

std::vector<std::string> CgroupDirsNamed(const std::string& name) {
  std::vector<std::string> found;
  for (const auto& hierarchy : CgroupHierarchies()) FindDirs(hierarchy, name, 4, found);
  return found;
}

namespace {
void RemoveTree(const std::string& dir, std::vector<std::string>& failed) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle) {
    std::vector<std::string> children;
    while (struct dirent* entry = ::readdir(handle)) {
      std::string child = entry->d_name;
      if (entry->d_type == DT_DIR && child != "." && child != "..") children.push_back(child);
    }
    ::closedir(handle);
    for (const auto& child : children) RemoveTree(dir + "/" + child, failed);
  }
  if (::rmdir(dir.c_str()) != 0) failed.push_back(dir);
}
}  // namespace

std::vector<std::string> RemoveCgroupTrees(const std::string& name) {
  std::vector<std::string> failed;
  for (const auto& dir : CgroupDirsNamed(name)) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) RemoveTree(dir, failed);
  }
  return failed;
}

std::vector<std::string> MountsUnder(const std::string& path) {
  std::vector<std::string> found;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    mount_point = Unescape(mount_point);
    if (mount_point == path || mount_point.rfind(path + "/", 0) == 0) found.push_back(line);
  }
  return found;
}

std::vector<std::string> ProcessesMarked(const std::string& key_value,
                                         const std::string& cgroup_name) {
  std::vector<std::string> found;
  std::string self = std::to_string(::getpid());
  for (const auto& pid : ListDir("/proc")) {
    if (!IsNumber(pid) || pid == self) continue;
    std::string environ = ReadFile("/proc/" + pid + "/environ");
    bool marked = false;
    std::istringstream entries(environ);
    std::string entry;
    while (!marked && std::getline(entries, entry, '\0')) marked = entry == key_value;
    if (!marked && !cgroup_name.empty()) {
      for (const auto& line : SplitLines(ReadFile("/proc/" + pid + "/cgroup"))) {
        std::string suffix = "/" + cgroup_name;
        if (line.size() >= suffix.size() &&
            line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0)
          marked = true;
      }
    }
    // Zombies waiting for a parent outside our control are not leaks of the runtime's doing
    // unless they are still there; report them too but say so.
    if (marked) {
      std::string state;
      for (const auto& line : SplitLines(ReadFile("/proc/" + pid + "/status")))
        if (line.rfind("State:", 0) == 0) state = Trim(line.substr(6));
      found.push_back("pid " + pid + " (" + Comm(pid) + ", " + state + ")");
    }
  }
  return found;
}

std::vector<std::string> ProcessesMentioning(const std::string& text) {
  std::vector<std::string> found;
  std::string self = std::to_string(::getpid());
  for (const auto& pid : ListDir("/proc")) {
    if (!IsNumber(pid) || pid == self) continue;
    std::string cmdline = ReadFile("/proc/" + pid + "/cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (Contains(cmdline, text)) found.push_back("pid " + pid + ": " + cmdline);
  }
  return found;
}

std::vector<std::string> OpenFds() {
  std::vector<std::string> fds;
  for (const auto& fd : ListDir("/proc/self/fd")) {
    std::string target = ReadLink("/proc/self/fd/" + fd);
    if (target.empty()) continue;  // the directory handle used for listing, already closed
    fds.push_back(fd + " -> " + target);
  }
  return fds;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string joined;
  for (const auto& line : lines) joined += "  " + line + "\n";
  return joined;
}

}  // namespace hull::testing
