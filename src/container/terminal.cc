#include "container/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "container/launch.h"
#include "linux/file.h"
#include "linux/process.h"
#include "linux/syscalls.h"

namespace hull::container {

Result<ConsoleChannel> MakeConsoleChannel() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return FailErrno("socketpair for the console");
  return ConsoleChannel{linux::UniqueFd(fds[0]), linux::UniqueFd(fds[1])};
}

namespace {

void CopyWindowSize(int from, int to) {
  winsize ws{};
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// Moves what is readable on `from` to `to`; false at EOF or error.
bool Pump(int from, int to) {
  char buf[8192];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  return static_cast<bool>(linux::WriteAll(to, std::string_view(buf, static_cast<size_t>(n))));
}

}  // namespace

Result<int> ProxyTerminalAndWait(pid_t pid, int pidfd, int master) {
  termios saved{};
  bool raw = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
    CopyWindowSize(STDIN_FILENO, master);
  }
  ForwardedSignals signals;

  // A side that hangs up or fails leaves the poll set, so a process that closed its terminal
  // but runs on does not make this loop spin.
  bool stdin_open = true, master_open = true;
  constexpr short kGone = POLLHUP | POLLERR | POLLNVAL;
  while (true) {
    pollfd fds[4] = {{pidfd, POLLIN, 0},
                     {master_open ? master : -1, POLLIN, 0},
                     {signals.fd(), POLLIN, 0},
                     {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    int n = ::poll(fds, 4, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (fds[1].revents & POLLIN) {
      if (!Pump(master, STDOUT_FILENO)) master_open = false;
    } else if (fds[1].revents & kGone) {
      master_open = false;
    }
    if (fds[3].revents & (POLLIN | kGone)) {
      if (!(fds[3].revents & POLLIN) || !Pump(STDIN_FILENO, master)) {
        stdin_open = false;
        char eot = 4;  // end of input for the program on the terminal
        (void)linux::WriteAll(master, std::string_view(&eot, 1));
      }
    }
    if (fds[2].revents & POLLIN) {
      int signal_number = signals.Next();
      if (signal_number == SIGWINCH)
        CopyWindowSize(STDIN_FILENO, master);
      else if (signal_number != 0)
        linux::sys::PidfdSendSignal(pidfd, signal_number, nullptr, 0);
    }
    if (fds[0].revents) break;
  }
  // Whatever the process wrote last.
  int flags = ::fcntl(master, F_GETFL);
  ::fcntl(master, F_SETFL, flags | O_NONBLOCK);
  char buf[8192];
  ssize_t n;
  while ((n = ::read(master, buf, sizeof buf)) > 0)
    (void)linux::WriteAll(STDOUT_FILENO, std::string_view(buf, static_cast<size_t>(n)));
  if (raw) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  int status = TRY(linux::WaitChild(pid));
  return linux::ExitCodeFromStatus(status);
}

}  // namespace hull::container
