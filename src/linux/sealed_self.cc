#include "linux/sealed_self.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "linux/file.h"
#include "linux/unique_fd.h"

extern char** environ;

namespace hull::linux {
namespace {
constexpr char kMemfdName[] = "hull-runtime-sealed";
}  // namespace

bool RunningFromSealedCopy() {
  char target[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", target, sizeof target - 1);
  if (n < 0) return false;
  target[n] = '\0';
  return std::string_view(target).starts_with(std::string("/memfd:") + kMemfdName);
}

namespace {
Result<void> Seal(int fd) {
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
    return FailErrno("seal a memfd");
  return {};
}
}  // namespace

Result<UniqueFd> SealedMemfd(const char* name, const void* data, size_t size) {
  int fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return FailErrno("memfd_create");
  UniqueFd memfd(fd);
  TRY(WriteAll(memfd.get(), std::string_view(static_cast<const char*>(data), size)));
  TRY(Seal(memfd.get()));
  return memfd;
}

Result<void> ReexecFromSealedCopy() {
  if (RunningFromSealedCopy()) return {};
  UniqueFd self = TRY(Open("/proc/self/exe", O_RDONLY));
  struct stat st {};
  if (::fstat(self.get(), &st) != 0) return FailErrno("stat /proc/self/exe");
  int fd = ::memfd_create(kMemfdName, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return FailErrno("memfd_create");
  UniqueFd copy(fd);
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = ::sendfile(copy.get(), self.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return FailErrno("copy /proc/self/exe to a memfd");
  }
  TRY_CTX(Seal(copy.get()), "the copy of the runtime");

  std::string cmdline = TRY(ReadFile("/proc/self/cmdline"));
  std::vector<char*> argv;
  for (size_t start = 0; start < cmdline.size();) {
    argv.push_back(cmdline.data() + start);
    start = cmdline.find('\0', start);
    if (start == std::string::npos) break;
    ++start;
  }
  argv.push_back(nullptr);
  ::execveat(copy.get(), "", argv.data(), environ, AT_EMPTY_PATH);
  return FailErrno("re-execute the runtime from its sealed copy");
}

}  // namespace hull::linux
