// Which cgroup hierarchies the host has, from mountinfo.
#include <algorithm>
#include <map>
#include <set>

#include "base/strings.h"
#include "container/cgroup.h"
#include "container/cgroup_internal.h"
#include "linux/cgroupfs.h"
#include "linux/file.h"
#include "linux/mountinfo.h"

namespace hull::container {

namespace {

// Mount options of a v1 cgroup superblock that are not controllers.
bool IsControllerOption(const std::string& option) {
  static const std::set<std::string> kNotControllers = {
      "rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "none"};
  if (kNotControllers.count(option)) return false;
  return !StartsWith(option, "release_agent=");
}

// Among several mounts of one hierarchy (bind mounts, mounts in a container's rootfs seen from
// the host) prefer the whole hierarchy mounted under /sys/fs/cgroup.
int Preference(const linux::MountInfoEntry& entry) {
  int score = 0;
  if (entry.root == "/") score += 2;
  if (StartsWith(entry.mount_point, "/sys/fs/cgroup")) score += 1;
  return score;
}

}  // namespace

Result<CgroupLayout> ParseCgroupLayout(std::string_view mountinfo) {
  std::vector<linux::MountInfoEntry> mounts = TRY(linux::ParseMountInfo(mountinfo));

  // One entry per hierarchy (superblock device number), the preferred mount of each.
  std::map<std::pair<unsigned, unsigned>, const linux::MountInfoEntry*> v1_mounts;
  const linux::MountInfoEntry* unified = nullptr;
  for (const linux::MountInfoEntry& entry : mounts) {
    if (entry.fs_type == "cgroup2") {
      if (!unified || Preference(entry) > Preference(*unified)) unified = &entry;
    } else if (entry.fs_type == "cgroup") {
      auto& chosen = v1_mounts[{entry.major, entry.minor}];
      if (!chosen || Preference(entry) > Preference(*chosen)) chosen = &entry;
    }
  }

  CgroupLayout layout;
  bool v1_has_controllers = false;
  for (const auto& [device, entry] : v1_mounts) {
    std::vector<std::string> controllers;
    for (const std::string& option : Split(entry->super_options, ',')) {
      if (!IsControllerOption(option)) continue;
      controllers.push_back(option);
      if (!StartsWith(option, "name=")) v1_has_controllers = true;
    }
    if (controllers.empty()) continue;
    layout.v1_hierarchies[entry->mount_point] = std::move(controllers);
  }
  if (unified) layout.unified_mount = unified->mount_point;

  if (unified && !v1_has_controllers) {
    // Only named v1 hierarchies (e.g. a leftover name=systemd) beside cgroup2: nothing is
    // enforced there, so the host is treated as pure v2.
    layout.mode = CgroupLayout::Mode::kV2;
    layout.v1_hierarchies.clear();
  } else if (unified) {
    layout.mode = CgroupLayout::Mode::kHybrid;
  } else if (!layout.v1_hierarchies.empty()) {
    layout.mode = CgroupLayout::Mode::kV1;
  } else {
    return Fail(ENOENT, "no cgroup filesystem is mounted");
  }
  return layout;
}

Result<CgroupLayout> DetectCgroupLayout() {
  std::string text = TRY(linux::ReadFile("/proc/self/mountinfo"));
  CgroupLayout layout = TRY_CTX(ParseCgroupLayout(text), "detect cgroup layout");
  if (!layout.unified_mount.empty()) {
    std::string controllers =
        TRY_CTX(linux::ReadCgroupFile(layout.unified_mount + "/cgroup.controllers"),
                "detect cgroup layout");
    for (const std::string& name : Split(Trim(controllers), ' '))
      if (!name.empty()) layout.unified_controllers.push_back(name);
  }
  return layout;
}

}  // namespace hull::container
