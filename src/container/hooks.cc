#include "container/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/async_safe.h"
#include "linux/syscalls.h"

namespace hull::container {

std::vector<PreparedHook> PrepareHooks(const std::vector<oci::Hook>& hooks,
                                       std::string_view phase) {
  std::vector<PreparedHook> out(hooks.size());
  for (size_t i = 0; i < hooks.size(); ++i) {
    PreparedHook& p = out[i];
    p.field = "hooks." + std::string(phase) + "[" + std::to_string(i) + "] " +
              Quote(hooks[i].path);
    p.path = hooks[i].path;
    p.args = hooks[i].args.empty() ? std::vector<std::string>{hooks[i].path} : hooks[i].args;
    p.env = hooks[i].env;
    p.timeout_seconds = hooks[i].timeout.value_or(0);
  }
  // Pointers are taken once the strings no longer move.
  for (auto& p : out) {
    for (auto& a : p.args) p.argv.push_back(a.data());
    p.argv.push_back(nullptr);
    for (auto& e : p.env) p.envp.push_back(e.data());
    p.envp.push_back(nullptr);
  }
  return out;
}

namespace {

// What a hook's child reports when it cannot become the hook: the step and its errno. Sent over
// a close-on-exec pipe, so a successful execve shows as EOF and a hook's own exit status is
// never mistaken for a failure to start it.
struct HookStartFailure {
  enum Step : int { kJoinNamespaces = 1, kExec = 2 };
  int step = 0;
  int err = 0;
};

[[noreturn]] void ReportStartFailure(int fd, HookStartFailure::Step step) noexcept {
  HookStartFailure failure{step, errno};
  (void)linux::WriteAllRaw(fd, &failure, sizeof failure);
  ::_exit(127);
}

// Reads the child's start report: 1 and `failure` filled if it could not exec, 0 once it has
// (EOF), -1 with errno on a read error.
int ReadStartFailure(int fd, HookStartFailure* failure) noexcept {
  size_t got = 0;
  while (got < sizeof *failure) {
    ssize_t n = ::read(fd, reinterpret_cast<char*>(failure) + got, sizeof *failure - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got == sizeof *failure ? 1 : 0;
}

int RunOne(const PreparedHook& hook, std::string_view state, const int* ns_fds, size_t ns_count,
           ChildReport* report) noexcept {
  // A socket, not a pipe: send() with MSG_NOSIGNAL tolerates a hook that never reads its stdin
  // without touching the process's SIGPIPE disposition (which execve would pass on).
  int in_pipe[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pipe) != 0) {
    ReportSet(report, errno, hook.field.c_str(), ": socketpair");
    return -1;
  }
  int start_pipe[2];
  if (::pipe2(start_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    ReportSet(report, e, hook.field.c_str(), ": pipe");
    return -1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {in_pipe[0], in_pipe[1], start_pipe[0], start_pipe[1]}) ::close(fd);
    ReportSet(report, e, hook.field.c_str(), ": fork");
    return -1;
  }
  if (pid == 0) {
    ::close(start_pipe[0]);
    for (size_t i = 0; i < ns_count; ++i)
      if (::setns(ns_fds[i], 0) != 0)
        ReportStartFailure(start_pipe[1], HookStartFailure::kJoinNamespaces);
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::execve(hook.path.c_str(), hook.argv.data(), hook.envp.data());
    ReportStartFailure(start_pipe[1], HookStartFailure::kExec);
  }
  ::close(in_pipe[0]);
  ::close(start_pipe[1]);
  HookStartFailure failure;
  int started = ReadStartFailure(start_pipe[0], &failure);
  int read_errno = errno;
  ::close(start_pipe[0]);
  if (started != 0) {
    ::close(in_pipe[1]);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (started < 0) {
      ReportSet(report, read_errno, hook.field.c_str(), ": read its start report");
    } else if (failure.step == HookStartFailure::kJoinNamespaces) {
      ReportSet(report, failure.err, hook.field.c_str(), ": join the container's namespaces");
    } else {
      ReportSet(report, failure.err, hook.field.c_str());  // `"/x": No such file or directory`
    }
    return -1;
  }
  ::shutdown(in_pipe[1], SHUT_RD);
  size_t off = 0;
  while (off < state.size()) {
    ssize_t n = ::send(in_pipe[1], state.data() + off, state.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(in_pipe[1]);

  int status = 0;
  if (hook.timeout_seconds > 0) {
    int pidfd = linux::sys::PidfdOpen(pid, 0);
    if (pidfd >= 0) {
      pollfd p{.fd = pidfd, .events = POLLIN, .revents = 0};
      int n;
      do {
        n = ::poll(&p, 1, hook.timeout_seconds * 1000);
      } while (n < 0 && errno == EINTR);
      ::close(pidfd);
      if (n == 0) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        char digits[24], seconds[32];
        linux::FormatDecimal(hook.timeout_seconds, digits, sizeof digits);
        linux::Concat(seconds, sizeof seconds, digits, " s");
        ReportSet(report, 0, hook.field.c_str(), ": timed out after ", seconds);
        return -1;
      }
    }
  }
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ReportSet(report, errno, hook.field.c_str(), ": waitpid");
      return -1;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  char number[24];
  if (WIFEXITED(status)) {
    linux::FormatDecimal(WEXITSTATUS(status), number, sizeof number);
    ReportSet(report, 0, hook.field.c_str(), ": exited with status ", number);
  } else {
    linux::FormatDecimal(WTERMSIG(status), number, sizeof number);
    ReportSet(report, 0, hook.field.c_str(), ": killed by signal ", number);
  }
  return -1;
}

}  // namespace

int RunPreparedHooks(const std::vector<PreparedHook>& hooks, std::string_view state_json,
                     const int* namespace_fds, size_t namespace_count,
                     ChildReport* report) noexcept {
  for (const auto& hook : hooks)
    if (RunOne(hook, state_json, namespace_fds, namespace_count, report) != 0) return -1;
  return 0;
}

Result<void> RunHooks(const std::vector<oci::Hook>& hooks, std::string_view phase,
                      std::string_view state_json) {
  if (hooks.empty()) return {};
  auto prepared = PrepareHooks(hooks, phase);
  ChildReport report;
  if (RunPreparedHooks(prepared, state_json, nullptr, 0, &report) != 0)
    return Fail(report.err, report.what);
  return {};
}

}  // namespace hull::container
