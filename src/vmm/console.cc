#include "vmm/console.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/log.h"

namespace hull::vmm {

Result<std::unique_ptr<Console>> Console::Open(const ConsoleConfig& config) {
  std::unique_ptr<Console> console(new Console(config));
  switch (config.kind) {
    case ConsoleConfig::Kind::kNone:
      break;
    case ConsoleConfig::Kind::kStdio: {
      console->output_fd_ = STDOUT_FILENO;
      console->input_fd_ = STDIN_FILENO;
      termios terminal;
      if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &terminal) == 0) {
        console->saved_terminal_ = terminal;
        // Keystrokes go to the guest as typed; Ctrl-C still signals hull-vmm (ISIG stays on),
        // which stops the VM cleanly.
        terminal.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ECHONL | IEXTEN);
        terminal.c_iflag &= ~static_cast<tcflag_t>(ICRNL | IXON);
        terminal.c_cc[VMIN] = 1;
        terminal.c_cc[VTIME] = 0;
        ::tcsetattr(STDIN_FILENO, TCSANOW, &terminal);
      }
      break;
    }
    case ConsoleConfig::Kind::kFile: {
      int fd = ::open(config.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return FailErrno("console file: open " + Quote(config.path));
      console->output_file_.reset(fd);
      console->output_fd_ = fd;
      break;
    }
    case ConsoleConfig::Kind::kSocket: {
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      if (config.path.size() >= sizeof(address.sun_path))
        return Fail("console socket path " + Quote(config.path) + " is too long");
      std::memcpy(address.sun_path, config.path.c_str(), config.path.size() + 1);
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) return FailErrno("console socket");
      console->listener_.reset(fd);
      // Replace a stale socket from an earlier run, but never another kind of file.
      struct stat st;
      if (::lstat(config.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(config.path.c_str());
      if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) < 0)
        return FailErrno("console socket: bind " + Quote(config.path));
      if (::listen(fd, 1) < 0) return FailErrno("console socket: listen " + Quote(config.path));
      break;
    }
  }
  return console;
}

Console::~Console() {
  if (listener_) ::unlink(config_.path.c_str());
  if (saved_terminal_) ::tcsetattr(STDIN_FILENO, TCSANOW, &*saved_terminal_);
}

void Console::Write(std::span<const uint8_t> bytes) {
  if (output_fd_ >= 0) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(output_fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // console output is best effort
      done += static_cast<size_t>(n);
    }
    return;
  }
  std::lock_guard lock(client_mutex_);
  if (client_) (void)!::send(client_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

std::vector<int> Console::PollFds() const {
  std::vector<int> fds;
  if (input_fd_ >= 0) fds.push_back(input_fd_);
  if (listener_) fds.push_back(listener_.get());
  std::lock_guard lock(client_mutex_);
  if (client_) fds.push_back(client_.get());
  return fds;
}

std::vector<uint8_t> Console::HandleReadable(int fd) {
  std::vector<uint8_t> input;
  if (listener_ && fd == listener_.get()) {
    int client = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client >= 0) {
      std::lock_guard lock(client_mutex_);
      client_.reset(client);
    }
    return input;
  }
  uint8_t buffer[512];
  ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n > 0) {
    input.assign(buffer, buffer + n);
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    if (fd == input_fd_) {
      input_fd_ = -1;  // stdin closed: stop watching it
    } else {
      std::lock_guard lock(client_mutex_);
      if (client_.get() == fd) client_.reset();
    }
  }
  return input;
}

}  // namespace hull::vmm
