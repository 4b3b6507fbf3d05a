// The container's root filesystem: planned in the runtime from the spec, executed by the
// container's init inside its new mount namespace, before pivot_root.
//
// Planning (parent, may allocate): turns spec mounts into a list of steps with resolved flags,
// propagation, data strings and the cgroup mount points. Executing (child, async-signal-safe, no
// allocation): every target is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS) and mounted through its /proc/self/fd path, so a symlink planted in the
// rootfs can never redirect a mount to the host.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "container/cgroup.h"
#include "container/child_report.h"
#include "oci/runtime_spec.h"

namespace hull::container {

struct MountStep {
  std::string source;             // host path for binds (resolved in the runtime's mount namespace)
  std::string destination;        // absolute, inside the rootfs
  std::string type;               // "bind" for bind mounts
  unsigned long flags = 0;        // MS_* for mount(2), without propagation
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
  bool recursive_bind = false;
  bool readonly_remount = false;  // a bind with ro/nosuid/nodev/... needs a bind remount
  std::string data;               // filesystem options ("mode=755,size=65536k")
  bool cgroup = false;            // expanded with the cgroup mount points below
  // Set for bind mounts: whether the source is a directory (decides mkdir vs. creating a file).
  bool source_is_dir = true;
};

struct DeviceStep {
  std::string path;  // inside the container, absolute
  mode_t mode = 0;   // S_IFCHR / S_IFBLK / S_IFIFO | permissions
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// A symlink created in the container's /dev (/dev/fd -> /proc/self/fd, /dev/ptmx -> pts/ptmx).
struct SymlinkStep {
  std::string path;      // inside the container, absolute
  std::string target;    // written as is
  bool replace = false;  // replace whatever is there (/dev/ptmx); otherwise keep an existing one
};

struct RootfsPlan {
  std::string rootfs;  // absolute host path
  // For "/" before anything else: MS_SLAVE|MS_REC unless linux.rootfsPropagation asks for
  // private (shared and unbindable would break the bind of the rootfs and pivot_root).
  unsigned long root_propagation = 0;
  // linux.rootfsPropagation, applied to the container's "/" after pivot_root (0 = not set).
  unsigned long rootfs_propagation = 0;
  bool readonly_root = false;
  bool no_pivot = false;  // --no-pivot: MS_MOVE + chroot instead of pivot_root
  // Devices are bind-mounted from the host instead of created with mknod (user namespaces).
  // Also enables the user-namespace fallbacks: sysfs bound from the host when it cannot be
  // mounted (no network namespace of our own), devpts retried without an unmapped "gid=".
  bool bind_devices = false;
  std::vector<MountStep> mounts;
  // Devices, default symlinks and ptmx are set up unless the spec bind-mounts /dev (as runc).
  bool setup_dev = true;
  std::vector<DeviceStep> devices;    // defaults (null, zero, full, random, urandom, tty) + spec
  std::vector<SymlinkStep> symlinks;  // fd, stdin, stdout, stderr, core (if the host has it), ptmx
  std::vector<CgroupMountPoint> cgroup_mounts;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  bool dev_is_tmpfs = false;  // the spec mounts a filesystem (not a bind) on /dev
  std::string console_pty;    // host path of the pty slave to bind on /dev/console ("" = none)
};

// Builds the plan; errors name the spec field (`mounts[3].options: option "idmap" is not
// supported yet`). `rootfs` is the resolved root.path; it and relative bind sources are taken
// relative to the current directory, which the runtime sets to the bundle. Bind sources are
// stat()ed here (source_is_dir); a missing one is an error naming mounts[i].source.
[[nodiscard]] Result<RootfsPlan> PlanRootfs(const oci::Spec& spec, const std::string& rootfs,
                                            const std::vector<CgroupMountPoint>& cgroups,
                                            bool user_namespace, bool no_pivot);

// Child side, in the new mount namespace, as root of its user namespace. PrepareRootfs:
// propagation of "/", bind of the rootfs onto itself, every mount, devices, default /dev
// symlinks and /dev/ptmx, /dev/console. FinishRootfs: masked and read-only paths and
// root.readonly (still through the host's /proc, every path resolved inside the rootfs), then
// pivot_root (or MS_MOVE + chroot; also the fallback when "/" is an initramfs), then
// linux.rootfsPropagation on the new "/".
// Leaves the process with "/" as the container root and cwd "/".
// Async-signal-safe: reads the plan, allocates nothing; on failure fills `report` and returns
// -1. Uses /proc of the runtime's mount namespace (mount targets are /proc/self/fd/N).
int SetupRootfs(const RootfsPlan& plan, ChildReport* report) noexcept;

// Child side, split for the createContainer hooks which run after the mounts and before
// pivot_root: SetupRootfs == PrepareRootfs + FinishRootfs.
int PrepareRootfs(const RootfsPlan& plan, ChildReport* report) noexcept;
int FinishRootfs(const RootfsPlan& plan, ChildReport* report) noexcept;

}  // namespace hull::container
