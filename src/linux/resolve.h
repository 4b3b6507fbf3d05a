// Path resolution inside a container's root filesystem, for the child between clone() and
// execve(): no allocation, fixed-size stack buffers, raw syscalls; every function here is
// async-signal-safe and reports failure as -1 with errno set.
//
// Every lookup goes through openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to a
// directory fd standing for the container's "/": absolute symlinks and ".." are clamped to it,
// so a symlink planted in the rootfs can never make us open, create or mount on a host path.
// Missing directories are created with mkdirat() under a parent that was itself resolved that
// way, never by joining strings onto the host path of the rootfs.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace hull::linux {

// "/proc/self/fd/<fd>" in a stack buffer: the path through which mount(2) reaches what an
// O_PATH fd refers to.
class FdPath {
 public:
  explicit FdPath(int fd) noexcept;
  const char* c_str() const { return path_; }

 private:
  char path_[32];
};

enum class CreateMode {
  kNone,       // the path must exist
  kDirectory,  // create missing directories, the last one included
  kFile,       // create missing parent directories and an empty regular file as the last one
};

// Opens `path` (absolute or relative, both taken from the container's "/") inside the tree
// rooted at `root_fd` (borrowed, remains owned by the caller). Returns a new O_CLOEXEC fd: an
// O_PATH fd, except that a file created by kFile is returned as the O_RDONLY fd that created
// it. Symlinks are followed but resolved inside the root, including a dangling symlink met
// while creating: its target is created inside the root. `file_mode` applies to kFile.
int OpenInRoot(int root_fd, const char* path, CreateMode create, mode_t file_mode = 0) noexcept;

// Opens (creating missing directories) the directory that holds the last component of `path`
// inside `root_fd`, and copies that last component into `name`. The last component itself is
// not looked at. Fails with EINVAL when the path has no last component ("/", "..").
int OpenParentInRoot(int root_fd, const char* path, char* name, size_t name_size) noexcept;

}  // namespace hull::linux
