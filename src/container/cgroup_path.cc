// linux.cgroupsPath normalisation and where each controller's files live.
#include <algorithm>

#include "base/strings.h"
#include "container/cgroup_internal.h"

namespace hull::container {

Result<std::string> NormaliseCgroupPath(const std::string& cgroups_path, const std::string& id) {
  std::string raw = cgroups_path;
  if (raw.empty()) {
    if (id.empty()) return Fail("linux.cgroupsPath: empty, and no container id to derive it from");
    raw = "/hull/" + id;
  }
  std::vector<std::string> parts;
  for (const std::string& component : Split(raw, '/')) {
    if (component.empty() || component == ".") continue;
    if (component == "..") {
      if (parts.empty())
        return Fail("linux.cgroupsPath " + Quote(cgroups_path) +
                    ": \"..\" leads above the cgroup root");
      parts.pop_back();
      continue;
    }
    parts.push_back(component);
  }
  if (parts.empty())
    return Fail("linux.cgroupsPath " + Quote(cgroups_path) +
                ": names the root cgroup, which a container cannot own");
  return "/" + Join(parts, "/");
}

std::optional<ControllerDir> LocateController(const CgroupLayout& layout,
                                              const std::string& cgroup_path,
                                              std::string_view controller) {
  for (const auto& [mount, controllers] : layout.v1_hierarchies) {
    if (std::find(controllers.begin(), controllers.end(), controller) != controllers.end())
      return ControllerDir{mount + cgroup_path, false};
  }
  // v1's blkio is io on v2; every other controller keeps its name.
  std::string_view v2_name = controller == "blkio" ? std::string_view("io") : controller;
  if (!layout.unified_mount.empty() &&
      std::find(layout.unified_controllers.begin(), layout.unified_controllers.end(), v2_name) !=
          layout.unified_controllers.end())
    return ControllerDir{layout.unified_mount + cgroup_path, true};
  return std::nullopt;
}

std::string MountName(const std::string& mount_point) {
  size_t slash = mount_point.find_last_of('/');
  return slash == std::string::npos ? mount_point : mount_point.substr(slash + 1);
}

}  // namespace hull::container
