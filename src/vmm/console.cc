#include "vmm/console.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/log.h"

namespace hull::vmm {
namespace {

// Sets O_NONBLOCK on `fd` (remains owned by the caller); returns the previous flags.
Result<int> SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return FailErrno("fcntl O_NONBLOCK");
  return flags;
}

}  // namespace

Console::Console(ConsoleConfig config) : config_(std::move(config)), buffer_(kOutputBufferBytes) {}

Result<std::unique_ptr<Console>> Console::Open(const ConsoleConfig& config) {
  std::unique_ptr<Console> console(new Console(config));
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return FailErrno("console: eventfd");
  console->wake_.reset(wake);
  switch (config.kind) {
    case ConsoleConfig::Kind::kNone:
      break;
    case ConsoleConfig::Kind::kStdio: {
      console->input_fd_ = STDIN_FILENO;
      struct stat st;
      if (::fstat(STDOUT_FILENO, &st) < 0) break;  // no stdout: output goes nowhere
      if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
        // Writes to files complete without waiting for anyone (and a reopened description
        // would lose the shell's offset and O_APPEND).
        console->output_fd_ = STDOUT_FILENO;
      } else if (S_ISSOCK(st.st_mode)) {
        console->output_fd_ = STDOUT_FILENO;
        console->output_is_socket_ = true;  // send(MSG_DONTWAIT) never blocks
      } else {
        // A pipe, FIFO or terminal: a reader can stop reading. O_NONBLOCK on fd 1 would change
        // the description shared with the parent (a shell's terminal), so open our own.
        int fd = ::open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0) {
          console->output_owned_.reset(fd);
          console->output_fd_ = fd;
        } else {
          // No /proc, or a FIFO whose reader is gone: the shared description then, put back
          // the way it was on destruction.
          auto flags = SetNonBlocking(STDOUT_FILENO);
          if (!flags) return tl::unexpected(flags.error().Wrap("console: stdout"));
          console->restore_stdout_flags_ = *flags;
          console->output_fd_ = STDOUT_FILENO;
        }
      }
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
      console->output_owned_.reset(fd);
      console->output_fd_ = fd;
      // The path may name a FIFO: its reader must not be able to stall a vCPU either.
      TRY_CTX(SetNonBlocking(fd), "console file " + Quote(config.path));
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
      console->output_is_socket_ = true;
      // Replace a stale socket from an earlier run, but never another kind of file.
      struct stat st;
      if (::lstat(config.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
        ::unlink(config.path.c_str());
      if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) < 0)
        return FailErrno("console socket: bind " + Quote(config.path));
      if (::listen(fd, 1) < 0) return FailErrno("console socket: listen " + Quote(config.path));
      break;
    }
  }
  return console;
}

Console::~Console() {
  Flush(kFinalFlush);
  if (restore_stdout_flags_) ::fcntl(STDOUT_FILENO, F_SETFL, *restore_stdout_flags_);
  if (listener_) ::unlink(config_.path.c_str());
  if (saved_terminal_) ::tcsetattr(STDIN_FILENO, TCSANOW, &*saved_terminal_);
}

ssize_t Console::WriteSomeLocked(std::span<const uint8_t> bytes) {
  int fd = OutputFdLocked();
  while (true) {
    ssize_t n = output_is_socket_
                    ? ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
                    : ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;  // the fd never blocks, so this cannot repeat long
    return n;
  }
}

void Console::OutputFailedLocked() {
  dropped_.fetch_add(buffer_size_, std::memory_order_relaxed);
  buffer_head_ = buffer_size_ = 0;
  if (config_.kind == ConsoleConfig::Kind::kSocket) {
    // The client went away; the event loop notices the hang-up and a new client may connect.
    client_.reset();
  } else {
    output_fd_ = -1;  // a closed pipe stays closed
    reader_gone_ = true;
  }
}

void Console::BufferLocked(std::span<const uint8_t> bytes) {
  size_t capacity = buffer_.size();
  if (bytes.size() >= capacity) {
    dropped_.fetch_add(buffer_size_ + bytes.size() - capacity, std::memory_order_relaxed);
    bytes = bytes.last(capacity);
    buffer_head_ = buffer_size_ = 0;
  }
  size_t overflow =
      buffer_size_ + bytes.size() > capacity ? buffer_size_ + bytes.size() - capacity : 0;
  if (overflow > 0) {  // drop the oldest
    dropped_.fetch_add(overflow, std::memory_order_relaxed);
    buffer_head_ = (buffer_head_ + overflow) % capacity;
    buffer_size_ -= overflow;
  }
  size_t tail = (buffer_head_ + buffer_size_) % capacity;
  size_t first = std::min(bytes.size(), capacity - tail);
  std::memcpy(buffer_.data() + tail, bytes.data(), first);
  std::memcpy(buffer_.data(), bytes.data() + first, bytes.size() - first);
  buffer_size_ += bytes.size();
}

void Console::DrainLocked() {
  while (buffer_size_ > 0 && OutputFdLocked() >= 0) {
    size_t contiguous = std::min(buffer_size_, buffer_.size() - buffer_head_);
    ssize_t n =
        WriteSomeLocked(std::span<const uint8_t>(buffer_.data() + buffer_head_, contiguous));
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      OutputFailedLocked();
      return;
    }
    buffer_head_ = (buffer_head_ + static_cast<size_t>(n)) % buffer_.size();
    buffer_size_ -= static_cast<size_t>(n);
  }
  if (buffer_size_ == 0) buffer_head_ = 0;
}

void Console::Write(std::span<const uint8_t> bytes) {
  std::lock_guard lock(output_mutex_);
  if (OutputFdLocked() < 0) {
    // No console output configured or no client connected: nothing is lost. A reader that
    // went away loses everything from then on.
    if (reader_gone_) dropped_.fetch_add(bytes.size(), std::memory_order_relaxed);
    return;
  }
  if (buffer_size_ == 0) {
    // Nothing waiting: straight to the fd, and buffer only what it does not take.
    ssize_t n = WriteSomeLocked(bytes);
    if (n < 0 && errno != EAGAIN) {
      dropped_.fetch_add(bytes.size(), std::memory_order_relaxed);
      OutputFailedLocked();
      return;
    }
    if (n > 0) bytes = bytes.subspan(static_cast<size_t>(n));
    if (bytes.empty()) return;
    BufferLocked(bytes);
    uint64_t one = 1;  // the event loop starts polling the fd for POLLOUT
    (void)!::write(wake_.get(), &one, sizeof(one));
    return;
  }
  BufferLocked(bytes);  // the event loop drains it in order
}

size_t Console::buffered_bytes() const {
  std::lock_guard lock(output_mutex_);
  return buffer_size_;
}

std::vector<pollfd> Console::PollFds() const {
  std::vector<pollfd> fds;
  if (input_fd_ >= 0) fds.push_back({input_fd_, POLLIN, 0});
  if (listener_) fds.push_back({listener_.get(), POLLIN, 0});
  fds.push_back({wake_.get(), POLLIN, 0});
  std::lock_guard lock(output_mutex_);
  if (client_) fds.push_back({client_.get(), POLLIN, 0});
  if (int out = OutputFdLocked(); out >= 0 && buffer_size_ > 0) {
    auto same =
        std::find_if(fds.begin(), fds.end(), [out](const pollfd& p) { return p.fd == out; });
    if (same != fds.end())
      same->events |= POLLOUT;
    else
      fds.push_back({out, POLLOUT, 0});
  }
  return fds;
}

std::vector<uint8_t> Console::HandleReady(int fd, short revents) {
  std::vector<uint8_t> input;
  if (fd == wake_.get()) {
    uint64_t count;
    (void)!::read(fd, &count, sizeof(count));
    return input;
  }
  if (listener_ && fd == listener_.get()) {
    int client = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client >= 0) {
      std::lock_guard lock(output_mutex_);
      client_.reset(client);
      DrainLocked();  // output buffered while nobody was connected
    }
    return input;
  }
  bool is_input = fd == input_fd_;
  {
    std::lock_guard lock(output_mutex_);
    if (fd == OutputFdLocked()) {
      is_input = is_input || fd == client_.get();
      if (revents & (POLLOUT | POLLERR | POLLHUP)) DrainLocked();
      if (fd != OutputFdLocked()) return input;  // the reader went away and the fd is closed
    } else if (fd == client_.get()) {
      is_input = true;
    }
  }
  if (!is_input || !(revents & (POLLIN | POLLHUP | POLLERR))) return input;
  uint8_t buffer[512];
  ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n > 0) {
    input.assign(buffer, buffer + n);
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    if (fd == input_fd_) {
      input_fd_ = -1;  // stdin closed: stop watching it
    } else {
      std::lock_guard lock(output_mutex_);
      if (client_.get() == fd) client_.reset();
    }
  }
  return input;
}

void Console::Flush(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(output_mutex_);
  while (true) {
    DrainLocked();
    int fd = OutputFdLocked();
    if (buffer_size_ == 0 || fd < 0) return;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    lock.unlock();
    pollfd out{fd, POLLOUT, 0};
    (void)::poll(&out, 1, static_cast<int>(left.count()));
    lock.lock();
  }
}

}  // namespace hull::vmm
