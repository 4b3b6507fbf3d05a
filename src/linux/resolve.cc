#include "linux/resolve.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "linux/syscalls.h"

namespace hull::linux {
namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's own limit for one lookup
constexpr int kRetry = -2;        // CreateMissing rewrote the path: resolve it again

int OpenResolved(int root_fd, const char* path, int flags) noexcept {
  open_how how{};
  how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  if (*path == '\0') path = ".";
  for (int attempt = 0;; ++attempt) {
    int fd = sys::Openat2(root_fd, path, &how);
    if (fd >= 0) return fd;
    // EAGAIN: a concurrent rename raced a ".." step of RESOLVE_IN_ROOT; the kernel asks for a
    // retry rather than risk an escape.
    if (errno == EINTR || (errno == EAGAIN && attempt < 16)) continue;
    return -1;
  }
}

void CloseKeepErrno(int fd) noexcept {
  int saved = errno;
  ::close(fd);
  errno = saved;
}

bool IsDots(const char* name) noexcept {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

// Replaces buf[start, end) (a symlink's name) with the symlink's target: relative targets stay
// after the prefix naming the directory that holds the link, absolute ones replace the prefix
// too (they are resolved from the root again, RESOLVE_IN_ROOT keeping them inside).
int SpliceLink(char* buf, size_t buf_size, size_t start, size_t end, const char* link,
               size_t link_len) noexcept {
  size_t len = std::strlen(buf);
  size_t prefix = link[0] == '/' ? 0 : start;
  size_t tail = len - end;
  if (prefix + link_len + tail + 1 > buf_size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memmove(buf + prefix + link_len, buf + end, tail + 1);
  std::memcpy(buf + prefix, link, link_len);
  return 0;
}

// Called after resolving `buf` failed with ENOENT: finds the first missing component, creates
// it and everything below it. Returns an fd, -1 with errno, or kRetry after replacing a
// dangling symlink in `buf` by its target.
int CreateMissing(int root_fd, char* buf, size_t buf_size, CreateMode create,
                  mode_t file_mode) noexcept {
  size_t len = std::strlen(buf);
  while (len > 0 && buf[len - 1] == '/') buf[--len] = '\0';
  if (len == 0) {  // the root itself cannot be missing
    errno = ENOENT;
    return -1;
  }

  // Usually only the last component is missing: try its parent first.
  size_t last_start = len;
  while (last_start > 0 && buf[last_start - 1] != '/') --last_start;
  int parent = -1;  // owned; -1 stands for root_fd
  size_t pos = 0;
  bool last_missing = false;
  if (last_start > 0) {
    buf[last_start - 1] = '\0';
    int fd = OpenResolved(root_fd, buf, O_PATH | O_DIRECTORY);
    buf[last_start - 1] = '/';
    if (fd >= 0) {
      parent = fd;
      pos = last_start;
      last_missing = true;
    } else if (errno != ENOENT) {
      return -1;
    }
  } else {
    last_missing = true;  // a single component under the root
  }

  bool created = false;  // below a directory we just made, nothing exists yet
  while (true) {
    while (buf[pos] == '/') ++pos;
    size_t start = pos;
    while (buf[pos] != '\0' && buf[pos] != '/') ++pos;
    size_t end = pos;
    bool last = buf[end] == '\0';
    int dir = parent >= 0 ? parent : root_fd;
    char saved = buf[end];
    buf[end] = '\0';
    const char* name = buf + start;
    bool dots = IsDots(name);

    int fd = -1;
    if (dots || !(created || (last && last_missing))) {
      // Resolve the whole prefix from the root, so symlinks and ".." in it stay inside.
      fd = OpenResolved(root_fd, buf, O_PATH | (last ? 0 : O_DIRECTORY));
      if (fd < 0 && (errno != ENOENT || dots)) {
        buf[end] = saved;
        if (parent >= 0) CloseKeepErrno(parent);
        return -1;
      }
    }
    if (fd < 0) {
      if (last && create == CreateMode::kFile) {
        fd = ::openat(dir, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file_mode);
      } else if (::mkdirat(dir, name, 0755) == 0) {
        created = true;
        fd = ::openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
      if (fd < 0 && errno == EEXIST) {
        // The name exists although resolving it failed: a dangling symlink. Go on with its
        // target, resolved inside the root.
        char link[PATH_MAX];
        ssize_t n = ::readlinkat(dir, name, link, sizeof link - 1);
        buf[end] = saved;
        if (parent >= 0) ::close(parent);
        if (n < 0) {
          errno = EEXIST;
          return -1;
        }
        link[n] = '\0';
        if (SpliceLink(buf, buf_size, start, end, link, static_cast<size_t>(n)) < 0) return -1;
        return kRetry;
      }
      if (fd < 0) {
        buf[end] = saved;
        if (parent >= 0) CloseKeepErrno(parent);
        return -1;
      }
    }
    buf[end] = saved;
    if (parent >= 0) ::close(parent);
    if (last) return fd;
    parent = fd;
  }
}

// Writes the decimal digits of `value` and a NUL into `buf` (at least 11 bytes).
void WriteDecimal(unsigned value, char* buf) noexcept {
  char digits[12];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (size_t i = 0; i < n; ++i) buf[i] = digits[n - 1 - i];
  buf[n] = '\0';
}

}  // namespace

FdPath::FdPath(int fd) noexcept {
  static constexpr char kPrefix[] = "/proc/self/fd/";
  std::memcpy(path_, kPrefix, sizeof kPrefix - 1);
  static_assert(sizeof path_ >= sizeof kPrefix - 1 + 11);
  WriteDecimal(static_cast<unsigned>(fd), path_ + sizeof kPrefix - 1);
}

int OpenInRoot(int root_fd, const char* path, CreateMode create, mode_t file_mode) noexcept {
  char buf[PATH_MAX];
  size_t len = std::strlen(path);
  if (len >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(buf, path, len + 1);
  for (int hops = 0; hops <= kMaxSymlinks; ++hops) {
    int fd = OpenResolved(root_fd, buf, O_PATH);
    if (fd >= 0 || errno != ENOENT || create == CreateMode::kNone) return fd;
    fd = CreateMissing(root_fd, buf, sizeof buf, create, file_mode);
    if (fd != kRetry) return fd;
  }
  errno = ELOOP;
  return -1;
}

int OpenParentInRoot(int root_fd, const char* path, char* name, size_t name_size) noexcept {
  size_t len = std::strlen(path);
  while (len > 0 && path[len - 1] == '/') --len;
  size_t start = len;
  while (start > 0 && path[start - 1] != '/') --start;
  size_t name_len = len - start;
  if (name_len == 0 ||
      (path[start] == '.' && (name_len == 1 || (name_len == 2 && path[start + 1] == '.')))) {
    errno = EINVAL;
    return -1;
  }
  if (name_len >= name_size || start >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  std::memcpy(name, path + start, name_len);
  name[name_len] = '\0';
  char dir[PATH_MAX];
  std::memcpy(dir, path, start);
  dir[start] = '\0';
  return OpenInRoot(root_fd, dir, CreateMode::kDirectory);
}

}  // namespace hull::linux
