#include "container/passwd.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/strings.h"
#include "linux/file.h"
#include "linux/syscalls.h"

namespace hull::container {
namespace {
constexpr off_t kMaxPasswdSize = 1 << 20;
}  // namespace

std::string HomeDirectory(const std::string& root, uid_t uid) {
  auto root_fd = linux::Open(root, O_PATH | O_DIRECTORY);
  if (!root_fd) return "/";
  open_how how{};
  // The container controls this file: a fifo must not block the runtime, a device must not
  // feed it forever.
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = linux::sys::Openat2(root_fd->get(), "etc/passwd", &how);
  if (fd < 0) return "/";
  linux::UniqueFd passwd(fd);
  struct stat st {};
  if (::fstat(passwd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "/";
  std::string text(static_cast<size_t>(std::min<off_t>(st.st_size, kMaxPasswdSize)), '\0');
  ssize_t n = ::pread(passwd.get(), text.data(), text.size(), 0);
  if (n < 0) return "/";
  text.resize(static_cast<size_t>(n));
  for (const auto& line : Split(text, '\n')) {
    auto fields = Split(line, ':');  // name:password:uid:gid:gecos:home:shell
    if (fields.size() < 6) continue;
    auto entry_uid = ParseUint(fields[2]);
    if (entry_uid && *entry_uid == uid && !fields[5].empty()) return fields[5];
  }
  return "/";
}

void AddHomeIfMissing(oci::Process& process, const std::string& root) {
  for (const auto& e : process.env)
    if (StartsWith(e, "HOME=")) return;
  process.env.push_back("HOME=" + HomeDirectory(root, process.user.uid));
}

}  // namespace hull::container
