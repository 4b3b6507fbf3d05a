#include "support/hugetlb.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/command.h"
#include "support/files.h"

namespace hull::testing {
namespace {

struct MountEntry {
  std::string mount_point;
  std::string fstype;
  std::string super_options;
};

std::vector<MountEntry> Mounts() {
  std::vector<MountEntry> mounts;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
    std::string id, parent, devno, root;
    MountEntry entry;
    head >> id >> parent >> devno >> root >> entry.mount_point;
    std::string source;
    tail >> entry.fstype >> source >> entry.super_options;
    mounts.push_back(entry);
  }
  return mounts;
}

bool HugetlbOnV2() {
  for (const auto& mount : Mounts()) {
    if (mount.fstype != "cgroup2") continue;
    std::string controllers = ReadFile(mount.mount_point + "/cgroup.controllers");
    if (Contains(" " + Trim(controllers) + " ", " hugetlb ")) return true;
  }
  return false;
}

bool OtherHugetlbV1Mounts(const std::string& ours) {
  for (const auto& mount : Mounts())
    if (mount.fstype == "cgroup" && mount.mount_point != ours &&
        Contains("," + mount.super_options + ",", ",hugetlb,"))
      return true;
  return false;
}

}  // namespace

bool HybridWithV2Controllers() {
  bool has_v1 = false;
  std::vector<std::string> v2;
  for (const auto& mount : Mounts()) {
    if (mount.fstype == "cgroup") has_v1 = true;
    if (mount.fstype == "cgroup2") v2.push_back(mount.mount_point);
  }
  if (!has_v1) return false;
  for (const auto& mount_point : v2)
    if (!Trim(ReadFile(mount_point + "/cgroup.controllers")).empty()) return true;
  return false;
}

HugetlbOnV1::HugetlbOnV1() {
  if (!HybridWithV2Controllers()) return;
  static std::atomic<int> counter{0};
  MakeDirs(kHugetlbMountBase, 0700);
  // The last component is "hugetlb" because runtimes that mirror the host's v1 hierarchies into
  // a container (runc) name them after it: the container then sees /sys/fs/cgroup/hugetlb, as on
  // a host with hugetlb on v1.
  std::string owner = std::string(kHugetlbMountBase) + "/" + std::to_string(::getpid()) + "-" +
                      std::to_string(counter++);
  std::string dir = owner + "/hugetlb";
  if (!MakeDirs(dir, 0700)) {
    error_ = "mkdir " + dir + ": " + std::strerror(errno);
    return;
  }
  if (::mount("none", dir.c_str(), "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hugetlb") != 0) {
    error_ = "mount -t cgroup -o hugetlb none " + dir + ": " + std::strerror(errno);
    ::rmdir(dir.c_str());
    ::rmdir(owner.c_str());
    return;
  }
  mount_point_ = dir;
  if (HybridWithV2Controllers()) error_ = "hugetlb mounted on v1 but cgroup2 still has controllers";
}

HugetlbOnV1::~HugetlbOnV1() {
  if (mount_point_.empty()) return;
  if (::umount2(mount_point_.c_str(), 0) != 0) ::umount2(mount_point_.c_str(), MNT_DETACH);
  ::rmdir(mount_point_.c_str());
  ::rmdir(mount_point_.substr(0, mount_point_.rfind('/')).c_str());
  // The kernel tears the v1 hierarchy down asynchronously; wait for hugetlb to be back on
  // cgroup2 so the next test (or another engineer's) sees the host as it was.
  if (OtherHugetlbV1Mounts(mount_point_)) return;
  WaitFor([] { return HugetlbOnV2(); }, std::chrono::seconds(5));
}

bool IsCrun(const std::string& runtime_path) {
  std::string base = runtime_path.substr(runtime_path.rfind('/') + 1);
  if (base == "crun") return true;
  if (base == "runc" || base == "hull-runtime") return false;
  CommandResult version = RunCommand({runtime_path, "--version"}, {.timeout = std::chrono::seconds(10)});
  return version.out.rfind("crun", 0) == 0;
}

}  // namespace hull::testing
