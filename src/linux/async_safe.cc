#include "linux/async_safe.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <cerrno>
#include <initializer_list>

namespace hull::linux {

void FormatDecimal(long value, char* buf, size_t size) noexcept {
  if (size == 0) return;
  char digits[24];
  size_t n = 0;
  bool negative = value < 0;
  unsigned long v = negative ? 0UL - static_cast<unsigned long>(value)
                             : static_cast<unsigned long>(value);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < sizeof digits);
  size_t out = 0;
  if (negative && out + 1 < size) buf[out++] = '-';
  while (n != 0 && out + 1 < size) buf[out++] = digits[--n];
  buf[out] = '\0';
}

void FormatProcSelfFd(int fd, char* buf, size_t size) noexcept {
  char number[24];
  FormatDecimal(fd, number, sizeof number);
  Concat(buf, size, "/proc/self/fd/", number);
}

bool Concat(char* buf, size_t size, const char* a, const char* b, const char* c) noexcept {
  size_t n = 0;
  for (const char* part : {a, b, c}) {
    if (!part) continue;
    for (const char* p = part; *p; ++p) {
      if (n + 1 >= size) {
        buf[n] = '\0';
        return false;
      }
      buf[n++] = *p;
    }
  }
  buf[n] = '\0';
  return true;
}

int WriteAllRaw(int fd, const void* data, size_t size) noexcept {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

int SendFdRaw(int socket, int fd, const char* name, size_t name_size) noexcept {
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{.iov_base = const_cast<char*>(name), .iov_len = name_size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  while (::sendmsg(socket, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

}  // namespace hull::linux
