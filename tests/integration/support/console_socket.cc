#include "support/console_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hull::testing {

ConsoleSocket::ConsoleSocket(std::string path) : path_(std::move(path)) {
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path_.size() >= sizeof address.sun_path) {
    error_ = "socket path too long: " + path_;
    return;
  }
  std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return;
  }
  ::unlink(path_.c_str());
  if (::bind(fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 4) != 0) {
    error_ = "bind/listen " + path_ + ": " + std::strerror(errno);
    ::close(fd);
    return;
  }
  listen_fd_ = fd;
}

ConsoleSocket::~ConsoleSocket() {
  if (master_fd_ >= 0) ::close(master_fd_);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
}

int ConsoleSocket::Receive(std::chrono::milliseconds timeout) {
  if (listen_fd_ < 0) return -1;
  struct pollfd pfd = {listen_fd_, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) {
    error_ = "nobody connected to the console socket";
    return -1;
  }
  int connection = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (connection < 0) {
    error_ = std::string("accept: ") + std::strerror(errno);
    return -1;
  }
  pfd = {connection, POLLIN, 0};
  ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  char name[4096];
  struct iovec iov = {name, sizeof name};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr message = {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(connection, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  ::close(connection);
  if (n < 0) {
    error_ = std::string("recvmsg: ") + std::strerror(errno);
    return -1;
  }
  for (struct cmsghdr* header = CMSG_FIRSTHDR(&message); header;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&master_fd_, CMSG_DATA(header), sizeof(int));
      return master_fd_;
    }
  }
  error_ = "message on the console socket carried no fd";
  return -1;
}

std::string ConsoleSocket::ReadUntil(const std::string& needle, std::chrono::milliseconds timeout) {
  std::string seen;
  if (master_fd_ < 0) return seen;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    struct pollfd pfd = {master_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[4096];
    ssize_t n = ::read(master_fd_, buffer, sizeof buffer);
    if (n <= 0) break;  // EIO once the slave side is closed
    seen.append(buffer, static_cast<size_t>(n));
  }
  return seen;
}

bool ConsoleSocket::Write(const std::string& data) {
  return master_fd_ >= 0 &&
         ::write(master_fd_, data.data(), data.size()) == static_cast<ssize_t>(data.size());
}

}  // namespace hull::testing
