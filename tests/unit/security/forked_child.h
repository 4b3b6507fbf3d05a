// Runs a test body in a forked child, for tests that change process-global state (seccomp
// filters, capability sets, uids) which must not leak into the test runner.
//
// The body runs without GoogleTest: it checks with HULL_CHILD_CHECK, which writes what failed
// (with errno) to a pipe and exits 1. The parent gets the wait status and that text.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace hull::testing {

inline int g_child_report_fd = -1;

// In the child: records why it failed and exits. Uses only snprintf and write(2), so it works
// under a seccomp filter that allows write, exit and exit_group.
[[noreturn]] inline void ChildFail(const char* what, int line, int err) {
  char buffer[512];
  int n = std::snprintf(buffer, sizeof buffer, "line %d: %s (errno %d: %s)", line, what, err,
                        strerrordesc_np(err) ? strerrordesc_np(err) : "?");
  if (n > 0 && g_child_report_fd >= 0) {
    ssize_t ignored = ::write(g_child_report_fd, buffer, static_cast<size_t>(n));
    (void)ignored;
  }
  ::_exit(1);
}

#define HULL_CHILD_CHECK(condition)                                            \
  do {                                                                         \
    if (!(condition)) ::hull::testing::ChildFail(#condition, __LINE__, errno); \
  } while (0)

struct ChildResult {
  int status = 0;
  std::string report;  // what the child said when it failed

  bool ExitedCleanly() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  bool KilledBy(int signal) const { return WIFSIGNALED(status) && WTERMSIG(status) == signal; }
  std::string Describe() const {
    std::string out;
    if (WIFEXITED(status)) out = "exited with " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) out = "killed by signal " + std::to_string(WTERMSIG(status));
    if (!report.empty()) out += ": " + report;
    return out;
  }
};

// Forks, runs `body` in the child (its return value is ignored: falling off the end is
// success), and reaps it.
template <typename Body>
ChildResult RunInChild(Body body) {
  ChildResult result;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.status = -1;
    result.report = "pipe2 failed";
    return result;
  }
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    g_child_report_fd = fds[1];
    body();
    ::_exit(0);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    result.status = -1;
    result.report = "fork failed";
    return result;
  }
  char buffer[512];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) result.report.append(buffer, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  while (::waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

}  // namespace hull::testing
