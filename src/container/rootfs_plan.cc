// PlanRootfs: the parent-side half of rootfs.h. Everything that may allocate, stat host paths
// or fail on bad input happens here, so the child only replays the plan.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string_view>

#include "container/mount_options.h"
#include "container/rootfs.h"
#include "linux/file.h"

namespace hull::container {
namespace {

// "/a//b/./c/" -> "/a/b/c"; relative paths are taken from "/". ".." stays: it is resolved
// inside the rootfs by the child, where it cannot climb above the root.
std::string CleanContainerPath(std::string_view path) {
  std::string out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    out += '/';
    out += part;
  }
  if (out.empty()) out = "/";
  return out;
}

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};

constexpr std::array<DefaultDevice, 6> kDefaultDevices = {{
    {"/dev/null", 1, 3},
    {"/dev/zero", 1, 5},
    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8},
    {"/dev/urandom", 1, 9},
    {"/dev/tty", 5, 0},
}};

Result<MountStep> PlanMount(const oci::Mount& mount, size_t index) {
  const std::string field = "mounts[" + std::to_string(index) + "]";
  if (!mount.uid_mappings.empty() || !mount.gid_mappings.empty()) {
    return Fail(field + ".uidMappings: idmapped mounts are not supported yet");
  }
  if (mount.destination.empty()) return Fail(field + ".destination: must not be empty");
  MountStep step;
  step.destination = CleanContainerPath(mount.destination);
  if (step.destination == "/") {
    return Fail(field + ".destination: cannot mount over the container's root");
  }
  MountOptions options = TRY(ParseMountOptions(mount.options, field + ".options"));
  step.flags = options.flags;
  step.propagation = options.propagation;
  step.data = std::move(options.data);

  if (mount.type == "bind" || options.bind) {
    step.type = "bind";
    // A "bind" type without "bind"/"rbind" in the options is a plain (non-recursive) bind.
    step.recursive_bind = options.recursive;
    step.readonly_remount = (step.flags & kPerMountFlags) != 0;
    if (mount.source.empty()) return Fail(field + ".source: a bind mount needs a source");
    step.source = TRY_CTX(linux::AbsoluteFromCwd(mount.source), field + ".source");
    struct stat st;
    if (::stat(step.source.c_str(), &st) != 0) {
      return tl::unexpected(Error::FromErrno("stat " + Quote(step.source)).Wrap(field + ".source"));
    }
    step.source_is_dir = S_ISDIR(st.st_mode);
    return step;
  }

  if (mount.type.empty()) return Fail(field + ".type: required unless the mount is a bind");
  step.type = mount.type;
  step.source = mount.source.empty() ? mount.type : mount.source;
  step.cgroup = mount.type == "cgroup" || mount.type == "cgroup2";
  return step;
}

Result<DeviceStep> PlanDevice(const oci::Device& device, size_t index) {
  const std::string field = "linux.devices[" + std::to_string(index) + "]";
  DeviceStep step;
  if (device.path.empty() || device.path[0] != '/') {
    return Fail(field + ".path: must be an absolute path");
  }
  step.path = CleanContainerPath(device.path);
  if (step.path == "/") return Fail(field + ".path: must name a file");
  mode_t type;
  if (device.type == "c" || device.type == "u") {
    type = S_IFCHR;
  } else if (device.type == "b") {
    type = S_IFBLK;
  } else if (device.type == "p") {
    type = S_IFIFO;
  } else {
    return Fail(field + ".type: expected \"c\", \"b\", \"u\" or \"p\", got " + Quote(device.type));
  }
  if (type != S_IFIFO) {
    // dev_t holds a 32-bit major and a 32-bit minor, but the kernel takes 12 and 20 bits.
    if (device.major < 0 || device.major > 0xfff) {
      return Fail(field + ".major: out of range");
    }
    if (device.minor < 0 || device.minor > 0xfffff) {
      return Fail(field + ".minor: out of range");
    }
    step.dev = makedev(static_cast<unsigned>(device.major), static_cast<unsigned>(device.minor));
  }
  step.mode = type | (device.file_mode ? (*device.file_mode & 07777) : 0666);
  step.uid = device.uid.value_or(0);
  step.gid = device.gid.value_or(0);
  return step;
}

}  // namespace

Result<RootfsPlan> PlanRootfs(const oci::Spec& spec, const std::string& rootfs,
                              const std::vector<CgroupMountPoint>& cgroups, bool user_namespace,
                              bool no_pivot) {
  RootfsPlan plan;
  plan.rootfs = TRY_CTX(linux::AbsoluteFromCwd(rootfs), "root.path");
  {
    struct stat st;
    if (::stat(plan.rootfs.c_str(), &st) != 0) {
      return tl::unexpected(Error::FromErrno("stat " + Quote(plan.rootfs)).Wrap("root.path"));
    }
    if (!S_ISDIR(st.st_mode)) {
      return Fail("root.path: " + Quote(plan.rootfs) + " is not a directory");
    }
  }
  plan.readonly_root = spec.root.readonly;
  plan.no_pivot = no_pivot;
  plan.bind_devices = user_namespace;
  plan.cgroup_mounts = cgroups;

  const oci::Linux* linux_config = spec.linux ? &*spec.linux : nullptr;
  plan.root_propagation = MS_SLAVE | MS_REC;
  if (linux_config && !linux_config->rootfs_propagation.empty()) {
    unsigned long propagation = ParsePropagation(linux_config->rootfs_propagation);
    if (propagation == 0) {
      return Fail("linux.rootfsPropagation: unknown value " +
                  Quote(linux_config->rootfs_propagation));
    }
    plan.rootfs_propagation = propagation;
    // Private is safe from the start; shared or unbindable only once "/" is the container's.
    if (propagation & MS_PRIVATE) plan.root_propagation = MS_PRIVATE | MS_REC;
  }

  plan.mounts.reserve(spec.mounts.size());
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    MountStep step = TRY(PlanMount(spec.mounts[i], i));
    if (step.destination == "/dev") {
      if (step.type == "bind") {
        plan.setup_dev = false;
        plan.dev_is_tmpfs = false;
      } else {
        plan.setup_dev = true;
        plan.dev_is_tmpfs = true;
      }
    }
    plan.mounts.push_back(std::move(step));
  }

  if (plan.setup_dev) {
    const std::vector<oci::Device> no_devices;
    const std::vector<oci::Device>& devices = linux_config ? linux_config->devices : no_devices;
    plan.devices.reserve(kDefaultDevices.size() + devices.size());
    for (const DefaultDevice& device : kDefaultDevices) {
      bool overridden = false;
      for (const oci::Device& spec_device : devices) {
        if (CleanContainerPath(spec_device.path) == device.path) overridden = true;
      }
      if (overridden) continue;
      DeviceStep step;
      step.path = device.path;
      step.mode = S_IFCHR | 0666;
      step.dev = makedev(device.major, device.minor);
      plan.devices.push_back(std::move(step));
    }
    for (size_t i = 0; i < devices.size(); ++i) {
      plan.devices.push_back(TRY(PlanDevice(devices[i], i)));
    }

    plan.symlinks = {
        {"/dev/fd", "/proc/self/fd", false},
        {"/dev/stdin", "/proc/self/fd/0", false},
        {"/dev/stdout", "/proc/self/fd/1", false},
        {"/dev/stderr", "/proc/self/fd/2", false},
    };
    if (::access("/proc/kcore", F_OK) == 0) {
      plan.symlinks.push_back({"/dev/core", "/proc/kcore", false});
    }
    plan.symlinks.push_back({"/dev/ptmx", "pts/ptmx", true});
  }

  if (linux_config) {
    for (size_t i = 0; i < linux_config->masked_paths.size(); ++i) {
      const std::string& path = linux_config->masked_paths[i];
      if (path.empty()) {
        return Fail("linux.maskedPaths[" + std::to_string(i) + "]: must not be empty");
      }
      plan.masked_paths.push_back(CleanContainerPath(path));
    }
    for (size_t i = 0; i < linux_config->readonly_paths.size(); ++i) {
      const std::string& path = linux_config->readonly_paths[i];
      if (path.empty()) {
        return Fail("linux.readonlyPaths[" + std::to_string(i) + "]: must not be empty");
      }
      plan.readonly_paths.push_back(CleanContainerPath(path));
    }
  }
  return plan;
}

}  // namespace hull::container
