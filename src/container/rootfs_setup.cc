// The child-side half of rootfs.h: runs in the container's init between clone() and execve().
// Async-signal-safe throughout: reads the plan (c_str() of strings built by the parent), uses
// fixed-size stack buffers and raw syscalls, and reports a failure as {errno, what} in a
// ChildReport. Every target is an O_PATH fd resolved inside the rootfs (linux/resolve.h) and
// reached by mount(2) through /proc/self/fd/N of the runtime's /proc.
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

#include "container/mount_options.h"
#include "container/rootfs.h"
#include "linux/resolve.h"
#include "linux/syscalls.h"

namespace hull::container {
namespace {

using linux::CreateMode;
using linux::FdPath;
using linux::OpenInRoot;

constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;

// Fills the report from message parts and returns -1.
int Fail(ChildReport* report, int err, std::initializer_list<const char*> parts) noexcept {
  report->err = err;
  size_t n = 0;
  for (const char* part : parts) {
    for (const char* p = part; p && *p && n + 1 < sizeof report->what; ++p) {
      report->what[n++] = *p;
    }
  }
  report->what[n] = '\0';
  return -1;
}

// Closes an fd we own at scope exit.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) noexcept : fd_(fd) {}
  ~ScopedFd() { Reset(-1); }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd) noexcept {
    if (fd_ >= 0) {
      int saved = errno;
      ::close(fd_);
      errno = saved;
    }
    fd_ = fd;
  }

 private:
  int fd_;
};

// The per-mount flags of the mount `fd` lies on, as MS_* values.
int MountFlagsOf(int fd, unsigned long* flags) noexcept {
  struct statfs st;
  if (::fstatfs(fd, &st) != 0) return -1;
  static constexpr struct {
    unsigned long st_flag, ms_flag;
  } kMap[] = {
      {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},
      {ST_NOEXEC, MS_NOEXEC},     {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
      {ST_RELATIME, MS_RELATIME},
  };
  *flags = 0;
  for (const auto& entry : kMap) {
    if (static_cast<unsigned long>(st.f_flags) & entry.st_flag) *flags |= entry.ms_flag;
  }
  return 0;
}

// Changes the per-mount flags of the mount whose root `mount_fd` is. In a user namespace the
// flags the mount came with from a more privileged namespace (nosuid, nodev, ...) are locked and
// a remount that drops them fails with EPERM: then keep those the mount has and retry.
int BindRemount(int mount_fd, unsigned long flags) noexcept {
  FdPath path(mount_fd);
  flags &= kPerMountFlags;
  if (::mount(nullptr, path.c_str(), nullptr, MS_REMOUNT | MS_BIND | flags, nullptr) == 0) {
    return 0;
  }
  if (errno != EPERM) return -1;
  unsigned long current;
  if (MountFlagsOf(mount_fd, &current) != 0) return -1;
  if (current & kAtimeFlags) flags &= ~kAtimeFlags;
  flags |= current & ~MS_RDONLY;
  return ::mount(nullptr, path.c_str(), nullptr, MS_REMOUNT | MS_BIND | flags, nullptr);
}

// Remembers the directory fd of the last parent opened, since devices and symlinks all go
// into /dev.
class DirCache {
 public:
  explicit DirCache(int root_fd) noexcept : root_fd_(root_fd) {}
  ~DirCache() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirCache(const DirCache&) = delete;
  DirCache& operator=(const DirCache&) = delete;

  // Returns the fd of the directory holding `path` (a cleaned absolute path from the plan) and
  // points `name` at its last component; -1 with errno on failure. The fd stays owned here.
  int Open(const char* path, const char** name) noexcept {
    const char* slash = std::strrchr(path, '/');
    size_t len = slash ? static_cast<size_t>(slash - path) : 0;
    *name = slash ? slash + 1 : path;
    if (**name == '\0') {
      errno = EINVAL;
      return -1;
    }
    if (fd_ >= 0 && len == len_ && std::memcmp(path, path_, len) == 0) return fd_;
    if (len >= sizeof path_) {
      errno = ENAMETOOLONG;
      return -1;
    }
    if (fd_ >= 0) ::close(fd_);
    std::memcpy(path_, path, len);
    path_[len] = '\0';
    len_ = len;
    fd_ = OpenInRoot(root_fd_, path_, CreateMode::kDirectory);
    return fd_;
  }

 private:
  int root_fd_;
  int fd_ = -1;
  size_t len_ = 0;
  char path_[PATH_MAX];
};

int MountCgroup(const RootfsPlan& plan, const MountStep& m, int root_fd,
                ChildReport* report) noexcept {
  const char* dest = m.destination.c_str();
  const unsigned long flags = m.flags & kPerMountFlags;
  ScopedFd target(OpenInRoot(root_fd, dest, CreateMode::kDirectory));
  if (target.get() < 0) return Fail(report, errno, {"create mount destination \"", dest, "\""});

  if (plan.cgroup_mounts.empty()) {
    // Nothing known about the host's hierarchies: a fresh cgroup2 shows the container's own
    // cgroup (namespace) as its root.
    if (::mount("cgroup2", FdPath(target.get()).c_str(), "cgroup2", flags, nullptr) != 0) {
      return Fail(report, errno, {"mount \"cgroup2\" on \"", dest, "\""});
    }
    return 0;
  }
  if (plan.cgroup_mounts.size() == 1 && plan.cgroup_mounts[0].unified &&
      plan.cgroup_mounts[0].name.empty()) {
    // Pure v2: the container's cgroup directory is the whole mount.
    const char* source = plan.cgroup_mounts[0].host_path.c_str();
    if (::mount(source, FdPath(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return Fail(report, errno, {"bind \"", source, "\" on \"", dest, "\""});
    }
    target.Reset(OpenInRoot(root_fd, dest, CreateMode::kNone));
    if (target.get() < 0 || BindRemount(target.get(), flags) != 0) {
      return Fail(report, errno, {"remount \"", dest, "\""});
    }
    return 0;
  }

  // v1 or hybrid: a tmpfs holding one directory per hierarchy, each a bind of the container's
  // cgroup there, plus a symlink per controller of a co-mounted hierarchy (cpu -> cpu,cpuacct).
  if (::mount("tmpfs", FdPath(target.get()).c_str(), "tmpfs", flags & ~MS_RDONLY, "mode=755") !=
      0) {
    return Fail(report, errno, {"mount \"tmpfs\" on \"", dest, "\""});
  }
  ScopedFd dir(OpenInRoot(root_fd, dest, CreateMode::kNone));
  if (dir.get() < 0) return Fail(report, errno, {"open \"", dest, "\""});
  for (const CgroupMountPoint& cgroup : plan.cgroup_mounts) {
    const char* name = cgroup.name.c_str();
    const char* source = cgroup.host_path.c_str();
    if (::mkdirat(dir.get(), name, 0755) != 0 && errno != EEXIST) {
      return Fail(report, errno, {"mkdir \"", dest, "/", name, "\""});
    }
    ScopedFd sub(::openat(dir.get(), name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub.get() < 0) return Fail(report, errno, {"open \"", dest, "/", name, "\""});
    if (::mount(source, FdPath(sub.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return Fail(report, errno, {"bind \"", source, "\" on \"", dest, "/", name, "\""});
    }
    sub.Reset(::openat(dir.get(), name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub.get() < 0 || BindRemount(sub.get(), flags) != 0) {
      return Fail(report, errno, {"remount \"", dest, "/", name, "\""});
    }
    if (std::strchr(name, ',')) {
      char part[NAME_MAX + 1];
      for (const char* p = name; *p;) {
        size_t n = 0;
        while (p[n] && p[n] != ',') ++n;
        if (n > 0 && n < sizeof part) {
          std::memcpy(part, p, n);
          part[n] = '\0';
          if (::symlinkat(name, dir.get(), part) != 0 && errno != EEXIST) {
            return Fail(report, errno, {"symlink \"", dest, "/", part, "\""});
          }
        }
        p += n;
        if (*p == ',') ++p;
      }
    }
  }
  if ((flags & MS_RDONLY) && BindRemount(dir.get(), flags) != 0) {
    return Fail(report, errno, {"remount \"", dest, "\" read-only"});
  }
  return 0;
}

// Copies `data` without its "gid=..." option into `out`; false if it does not fit.
bool DropGidOption(const char* data, char* out, size_t size) noexcept {
  size_t n = 0;
  for (const char* p = data; *p;) {
    const char* end = std::strchr(p, ',');
    size_t len = end ? static_cast<size_t>(end - p) : std::strlen(p);
    if (!(len >= 4 && std::strncmp(p, "gid=", 4) == 0)) {
      if (n + (n ? 1 : 0) + len + 1 > size) return false;
      if (n) out[n++] = ',';
      std::memcpy(out + n, p, len);
      n += len;
    }
    p += len;
    if (*p == ',') ++p;
  }
  out[n] = '\0';
  return true;
}

// mount(2) of a filesystem (not a bind). In a user namespace (bind_devices) two refusals have
// the fallbacks runc and crun use: sysfs without a network namespace of our own is bound from
// the host instead (*bound is set: the flags still need a bind remount), and devpts with a
// "gid=" the namespace does not map is mounted without it.
int MountFilesystem(const RootfsPlan& plan, const MountStep& m, const char* target,
                    bool* bound) noexcept {
  const char* data = m.data.empty() ? nullptr : m.data.c_str();
  if (::mount(m.source.c_str(), target, m.type.c_str(), m.flags, data) == 0) return 0;
  if (!plan.bind_devices) return -1;
  int err = errno;
  if (err == EPERM && m.type == "sysfs") {
    *bound = true;
    return ::mount("/sys", target, nullptr, MS_BIND | MS_REC, nullptr);
  }
  if (err == EINVAL && m.type == "devpts" && data && std::strstr(data, "gid=")) {
    char without_gid[512];
    if (DropGidOption(data, without_gid, sizeof without_gid)) {
      return ::mount(m.source.c_str(), target, m.type.c_str(), m.flags, without_gid);
    }
  }
  errno = err;
  return -1;
}

int RunMount(const RootfsPlan& plan, const MountStep& m, int root_fd,
             ChildReport* report) noexcept {
  if (m.cgroup) return MountCgroup(plan, m, root_fd, report);
  const char* dest = m.destination.c_str();
  const char* source = m.source.c_str();
  const bool bind = m.type == "bind";
  ScopedFd target(OpenInRoot(
      root_fd, dest, bind && !m.source_is_dir ? CreateMode::kFile : CreateMode::kDirectory, 0644));
  if (target.get() < 0) return Fail(report, errno, {"create mount destination \"", dest, "\""});

  FdPath target_path(target.get());
  bool remount = bind && m.readonly_remount;
  if (bind) {
    unsigned long flags = MS_BIND | (m.recursive_bind ? MS_REC : 0);
    if (::mount(source, target_path.c_str(), nullptr, flags, nullptr) != 0) {
      return Fail(report, errno, {"bind \"", source, "\" on \"", dest, "\""});
    }
  } else {
    bool bound = false;
    if (MountFilesystem(plan, m, target_path.c_str(), &bound) != 0) {
      return Fail(report, errno, {"mount \"", m.type.c_str(), "\" on \"", dest, "\""});
    }
    if (bound) remount = (m.flags & kPerMountFlags) != 0;
  }

  if (!remount && m.propagation == 0) return 0;
  // The fd names the mount point below the new mount; reopen to reach the new mount itself.
  target.Reset(OpenInRoot(root_fd, dest, CreateMode::kNone));
  if (target.get() < 0) return Fail(report, errno, {"open \"", dest, "\" after mounting"});
  if (remount && BindRemount(target.get(), m.flags) != 0) {
    return Fail(report, errno, {"remount bind on \"", dest, "\""});
  }
  if (m.propagation != 0 &&
      ::mount(nullptr, FdPath(target.get()).c_str(), nullptr, m.propagation, nullptr) != 0) {
    return Fail(report, errno, {"set propagation of \"", dest, "\""});
  }
  return 0;
}

int CreateDevices(const RootfsPlan& plan, int root_fd, ChildReport* report) noexcept {
  DirCache dirs(root_fd);
  for (const DeviceStep& device : plan.devices) {
    const char* path = device.path.c_str();
    const char* name;
    int dir = dirs.Open(path, &name);
    if (dir < 0) return Fail(report, errno, {"create directory for \"", path, "\""});
    if (plan.bind_devices && !S_ISFIFO(device.mode)) {
      // mknod is not allowed in a user namespace: bind the host's node onto an empty file.
      ScopedFd file(::openat(dir, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0));
      if (file.get() < 0 && errno == EEXIST) {
        file.Reset(::openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
      }
      if (file.get() < 0) return Fail(report, errno, {"create \"", path, "\""});
      if (::mount(path, FdPath(file.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
        return Fail(report, errno, {"bind device \"", path, "\""});
      }
      continue;
    }
    if (::mknodat(dir, name, device.mode, device.dev) != 0) {
      if (errno == EEXIST) continue;  // the image has it already
      return Fail(report, errno, {"mknod \"", path, "\""});
    }
    if ((device.uid != 0 || device.gid != 0) &&
        ::fchownat(dir, name, device.uid, device.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return Fail(report, errno, {"chown \"", path, "\""});
    }
  }
  for (const SymlinkStep& link : plan.symlinks) {
    const char* path = link.path.c_str();
    const char* name;
    int dir = dirs.Open(path, &name);
    if (dir < 0) return Fail(report, errno, {"create directory for \"", path, "\""});
    if (::symlinkat(link.target.c_str(), dir, name) == 0) continue;
    if (errno != EEXIST) return Fail(report, errno, {"symlink \"", path, "\""});
    if (!link.replace) continue;
    if (::unlinkat(dir, name, 0) != 0 || ::symlinkat(link.target.c_str(), dir, name) != 0) {
      return Fail(report, errno, {"replace \"", path, "\" with a symlink"});
    }
  }
  return 0;
}

int PrepareInUmask0(const RootfsPlan& plan, ChildReport* report) noexcept {
  const char* rootfs = plan.rootfs.c_str();
  if (::mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) != 0) {
    return Fail(report, errno, {"set propagation of \"/\""});
  }
  // pivot_root needs the new root to be a mount point.
  if (::mount(rootfs, rootfs, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return Fail(report, errno, {"bind rootfs \"", rootfs, "\" onto itself"});
  }
  ScopedFd root(::open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) return Fail(report, errno, {"open rootfs \"", rootfs, "\""});

  for (const MountStep& m : plan.mounts) {
    if (RunMount(plan, m, root.get(), report) != 0) return -1;
  }
  if (plan.setup_dev && CreateDevices(plan, root.get(), report) != 0) return -1;
  if (!plan.console_pty.empty()) {
    const char* pty = plan.console_pty.c_str();
    ScopedFd console(OpenInRoot(root.get(), "/dev/console", CreateMode::kFile, 0));
    if (console.get() < 0) return Fail(report, errno, {"create \"/dev/console\""});
    if (::mount(pty, FdPath(console.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return Fail(report, errno, {"bind \"", pty, "\" on \"/dev/console\""});
    }
  }
  return 0;
}

int MaskPath(int root_fd, const char* path, ChildReport* report) noexcept {
  ScopedFd target(OpenInRoot(root_fd, path, CreateMode::kNone));
  if (target.get() < 0) {
    if (errno == ENOENT) return 0;  // nothing to hide
    return Fail(report, errno, {"open masked path \"", path, "\""});
  }
  struct stat st;
  if (::fstat(target.get(), &st) != 0) return Fail(report, errno, {"stat \"", path, "\""});
  int rc = S_ISDIR(st.st_mode)
               ? ::mount("tmpfs", FdPath(target.get()).c_str(), "tmpfs", MS_RDONLY, nullptr)
               : ::mount("/dev/null", FdPath(target.get()).c_str(), nullptr, MS_BIND, nullptr);
  if (rc != 0) return Fail(report, errno, {"mask \"", path, "\""});
  return 0;
}

int ReadonlyPath(int root_fd, const char* path, ChildReport* report) noexcept {
  ScopedFd target(OpenInRoot(root_fd, path, CreateMode::kNone));
  if (target.get() < 0) {
    if (errno == ENOENT) return 0;
    return Fail(report, errno, {"open read-only path \"", path, "\""});
  }
  // Keep nosuid/nodev/noexec of the mount it is on (proc's, for /proc/sys).
  unsigned long flags;
  if (MountFlagsOf(target.get(), &flags) != 0)
    return Fail(report, errno, {"statfs \"", path, "\""});
  FdPath target_path(target.get());
  if (::mount(target_path.c_str(), target_path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return Fail(report, errno, {"bind \"", path, "\" onto itself"});
  }
  target.Reset(OpenInRoot(root_fd, path, CreateMode::kNone));
  if (target.get() < 0 || BindRemount(target.get(), flags | MS_RDONLY) != 0) {
    return Fail(report, errno, {"remount \"", path, "\" read-only"});
  }
  return 0;
}

bool RootIsInitramfs() noexcept {
  struct statfs st;
  if (::statfs("/", &st) != 0) return false;
  return st.f_type == RAMFS_MAGIC || st.f_type == TMPFS_MAGIC;
}

// Moves the rootfs mount over "/" and chroots into it: for --no-pivot and initramfs roots,
// where pivot_root is impossible. Expects the cwd to be the rootfs.
int MoveRoot(const char* rootfs, ChildReport* report) noexcept {
  if (::mount(rootfs, "/", nullptr, MS_MOVE, nullptr) != 0) {
    return Fail(report, errno, {"move rootfs \"", rootfs, "\" to \"/\""});
  }
  if (::chroot(".") != 0) return Fail(report, errno, {"chroot \"", rootfs, "\""});
  if (::chdir("/") != 0) return Fail(report, errno, {"chdir \"/\""});
  return 0;
}

int SwitchRoot(const RootfsPlan& plan, ChildReport* report) noexcept {
  const char* rootfs = plan.rootfs.c_str();
  ScopedFd old_root(plan.no_pivot ? -1 : ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!plan.no_pivot && old_root.get() < 0) return Fail(report, errno, {"open \"/\""});
  if (::chdir(rootfs) != 0) return Fail(report, errno, {"chdir \"", rootfs, "\""});
  if (plan.no_pivot) return MoveRoot(rootfs, report);

  // pivot_root(".", "."): the old root ends up stacked on the new one, no directory needed.
  if (linux::sys::PivotRoot(".", ".") != 0) {
    if (errno == EINVAL && RootIsInitramfs()) return MoveRoot(rootfs, report);
    return Fail(report, errno, {"pivot_root \"", rootfs, "\""});
  }
  if (::fchdir(old_root.get()) != 0) return Fail(report, errno, {"chdir to the old root"});
  // Slave first, so that detaching the old root cannot propagate unmounts to the host.
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    return Fail(report, errno, {"make the old root a slave"});
  }
  if (::umount2(".", MNT_DETACH) != 0) return Fail(report, errno, {"detach the old root"});
  if (::chdir("/") != 0) return Fail(report, errno, {"chdir \"/\""});
  return 0;
}

}  // namespace

int PrepareRootfs(const RootfsPlan& plan, ChildReport* report) noexcept {
  // Device modes and created files get exactly the modes the plan asks for.
  mode_t old_umask = ::umask(0);
  int rc = PrepareInUmask0(plan, report);
  ::umask(old_umask);
  return rc;
}

int FinishRootfs(const RootfsPlan& plan, ChildReport* report) noexcept {
  const char* rootfs = plan.rootfs.c_str();
  {
    // Masks and read-only paths before the switch, while the runtime's /proc (for the
    // /proc/self/fd targets) and /dev/null are still reachable; the container cannot tell.
    ScopedFd root(::open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root.get() < 0) return Fail(report, errno, {"open rootfs \"", rootfs, "\""});
    for (const std::string& path : plan.masked_paths) {
      if (MaskPath(root.get(), path.c_str(), report) != 0) return -1;
    }
    for (const std::string& path : plan.readonly_paths) {
      if (ReadonlyPath(root.get(), path.c_str(), report) != 0) return -1;
    }
    if (plan.readonly_root) {
      unsigned long flags;
      if (MountFlagsOf(root.get(), &flags) != 0 ||
          BindRemount(root.get(), flags | MS_RDONLY) != 0) {
        return Fail(report, errno, {"remount rootfs \"", rootfs, "\" read-only"});
      }
    }
  }
  if (SwitchRoot(plan, report) != 0) return -1;
  if (plan.rootfs_propagation != 0 &&
      ::mount(nullptr, "/", nullptr, plan.rootfs_propagation, nullptr) != 0) {
    return Fail(report, errno, {"apply linux.rootfsPropagation to \"/\""});
  }
  return 0;
}

int SetupRootfs(const RootfsPlan& plan, ChildReport* report) noexcept {
  if (PrepareRootfs(plan, report) != 0) return -1;
  return FinishRootfs(plan, report);
}

}  // namespace hull::container
