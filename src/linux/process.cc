#include "linux/process.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstring>

#include "linux/syscalls.h"

namespace hull::linux {

Result<UniqueFd> OpenPidFd(pid_t pid) {
  int fd = sys::PidfdOpen(pid, 0);
  if (fd < 0) return FailErrno("pidfd_open " + std::to_string(pid));
  return UniqueFd(fd);
}

Result<bool> WaitPidFdExit(int pidfd, int timeout_ms) {
  pollfd p{.fd = pidfd, .events = POLLIN, .revents = 0};
  while (true) {
    int n = ::poll(&p, 1, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno("poll pidfd");
    }
    return n > 0;
  }
}

Result<int> WaitChild(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return FailErrno("waitpid " + std::to_string(pid));
  }
  return status;
}

int ExitCodeFromStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Result<UniqueFd> ReceiveFd(int socket) {
  char name[256];
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{.iov_base = name, .iov_len = sizeof name};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return FailErrno("receive fd");
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
    return Fail(EBADMSG, "receive fd: no fd in the message");
  int fd;
  std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  return UniqueFd(fd);
}

Result<UniqueFd> ConnectUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return Fail(ENAMETOOLONG, "connect " + Quote(path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return FailErrno("socket");
  UniqueFd owned(fd);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return FailErrno("connect " + Quote(path));
  return owned;
}

}  // namespace hull::linux
