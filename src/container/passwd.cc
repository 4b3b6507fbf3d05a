#include "container/passwd.h"

#include <fcntl.h>
#include <linux/openat2.h>

#include "base/strings.h"
#include "linux/file.h"
#include "linux/syscalls.h"

namespace hull::container {

std::string HomeDirectory(const std::string& root, uid_t uid) {
  auto root_fd = linux::Open(root, O_PATH | O_DIRECTORY);
  if (!root_fd) return "/";
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = linux::sys::Openat2(root_fd->get(), "etc/passwd", &how);
  if (fd < 0) return "/";
  linux::UniqueFd passwd(fd);
  auto text = linux::ReadFd(passwd.get());
  if (!text) return "/";
  for (const auto& line : Split(*text, '\n')) {
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
