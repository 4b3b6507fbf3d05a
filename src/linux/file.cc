#include "linux/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace hull::linux {

Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) {
  return OpenAt(AT_FDCWD, path, flags, mode);
}

Result<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return FailErrno("open " + Quote(path));
  return UniqueFd(fd);
}

Result<std::string> ReadFd(int fd) {
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno("read");
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd = TRY(Open(path, O_RDONLY));
  return TRY_CTX(ReadFd(fd.get()), "read " + Quote(path));
}

Result<void> WriteAll(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno("write");
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

Result<void> WriteFile(const std::string& path, std::string_view data, int flags, mode_t mode) {
  UniqueFd fd = TRY(Open(path, flags, mode));
  TRY_CTX(WriteAll(fd.get(), data), "write " + Quote(path));
  return {};
}

Result<void> WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp";
  TRY(WriteFile(tmp, data, O_WRONLY | O_CREAT | O_TRUNC, mode));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    return Fail(saved, "rename " + Quote(tmp) + " to " + Quote(path));
  }
  return {};
}

Result<void> MkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  std::string cur;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    cur = path.substr(0, next);
    pos = next + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return FailErrno("mkdir " + Quote(cur));
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return FailErrno("stat " + Quote(path));
  if (!S_ISDIR(st.st_mode)) return Fail(ENOTDIR, "mkdir " + Quote(path));
  return {};
}

namespace {
Result<void> RemoveAllAt(int parent, const std::string& name, const std::string& shown) {
  if (::unlinkat(parent, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR && errno != EPERM) return FailErrno("unlink " + Quote(shown));
  int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return FailErrno("open " + Quote(shown));
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return FailErrno("opendir " + Quote(shown));
  }
  Result<void> result;
  while (dirent* entry = ::readdir(dir)) {
    std::string child = entry->d_name;
    if (child == "." || child == "..") continue;
    result = RemoveAllAt(::dirfd(dir), child, shown + "/" + child);
    if (!result) break;
  }
  ::closedir(dir);
  if (!result) return result;
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return FailErrno("rmdir " + Quote(shown));
  return {};
}
}  // namespace

Result<void> RemoveAll(const std::string& path) { return RemoveAllAt(AT_FDCWD, path, path); }

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

Result<std::string> AbsoluteFromCwd(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) return FailErrno("getcwd");
  std::string out = cwd;
  if (path.empty()) return out;
  if (out != "/") out += '/';
  return out + path;
}

}  // namespace hull::linux
