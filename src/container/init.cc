// Child side of container creation and exec. Everything here runs between clone() and
// execve(): no allocation, no exceptions, no logging; failures go to the runtime as a
// ChildReport over the sync socket.
#include "container/init.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "linux/async_safe.h"
#include "linux/syscalls.h"

namespace hull::container {
namespace {

int SendMessage(int fd, int type, const ChildReport* report, pid_t pid = 0) noexcept {
  SyncMessage msg;
  msg.type = type;
  msg.pid = pid;
  if (report) msg.report = *report;
  ssize_t n;
  do {
    n = ::send(fd, &msg, sizeof msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == sizeof msg ? 0 : -1;
}

void Expect(int fd, int type) noexcept { AwaitRuntime(fd, type); }

[[noreturn]] void Die(int sync_fd, const ChildReport& report) noexcept {
  if (SendMessage(sync_fd, SyncMessage::kFailed, &report) != 0) {
    // Nobody listens any more (after `create` returned): stderr is all that is left.
    linux::WriteAllRaw(STDERR_FILENO, "hull-runtime init: ", 19);
    linux::WriteAllRaw(STDERR_FILENO, report.what, std::strlen(report.what));
    if (report.err) {
      const char* text = strerrordesc_np(report.err);
      linux::WriteAllRaw(STDERR_FILENO, ": ", 2);
      if (text) linux::WriteAllRaw(STDERR_FILENO, text, std::strlen(text));
    }
    linux::WriteAllRaw(STDERR_FILENO, "\n", 1);
  }
  ::_exit(1);
}

int WriteFileRaw(const char* path, const char* data, size_t size) noexcept {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = linux::WriteAllRaw(fd, data, size);
  ::close(fd);
  return r;
}

int SetupTimeNamespace(const InitPlan& plan, ChildReport* report) noexcept {
  if (::unshare(CLONE_NEWTIME) != 0) {
    ReportSet(report, errno, "unshare time namespace");
    return -1;
  }
  int r = WriteFileRaw("/proc/self/timens_offsets", plan.time_offsets.data(),
                       plan.time_offsets.size());
  if (r != 0) {
    ReportSet(report, -r, "linux.timeOffsets: write /proc/self/timens_offsets");
    return -1;
  }
  int fd = ::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWTIME) != 0) {
    ReportSet(report, errno, "join the new time namespace");
    if (fd >= 0) ::close(fd);
    return -1;
  }
  ::close(fd);
  return 0;
}

// unshare(CLONE_NEWPID) places only the children made afterwards in the new pid namespace: the
// child carries on as the container's init (pid 1), this process reports its pid and exits.
// CLONE_PARENT makes the child the runtime's, as if the runtime had cloned it, so `run` waits
// for it like for any init. Returns in the child, with the runtime's go-ahead.
SyncMessage ForkIntoPidNamespace(int sync_fd) noexcept {
  clone_args args{};
  args.flags = CLONE_PARENT;  // exit_signal stays 0: the child gets ours (SIGCHLD)
  long pid = linux::sys::Clone3(&args);
  if (pid < 0) {
    ChildReport report;
    ReportSet(&report, errno, "fork into the new pid namespace");
    Die(sync_fd, report);
  }
  if (pid > 0) {
    SendMessage(sync_fd, SyncMessage::kInitForked, nullptr, static_cast<pid_t>(pid));
    ::_exit(0);
  }
  return AwaitRuntime(sync_fd, SyncMessage::kContinue);
}

int SetupConsole(const ProcessPlan& process, ChildReport* report) noexcept {
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) {
    ReportSet(report, errno, "open \"/dev/ptmx\" for the console");
    return -1;
  }
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) != 0) {
    ReportSet(report, errno, "unlock the console pty");
    return -1;
  }
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    ReportSet(report, errno, "open the console pty's peer");
    return -1;
  }
  if (process.console_height || process.console_width) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(process.console_height);
    ws.ws_col = static_cast<unsigned short>(process.console_width);
    ::ioctl(slave, TIOCSWINSZ, &ws);
  }
  // /dev/console shows the same terminal, as runc and crun arrange.
  int console = ::open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (console >= 0) {
    ::close(console);
    char from[32];
    linux::FormatProcSelfFd(slave, from, sizeof from);
    if (::mount(from, "/dev/console", nullptr, MS_BIND, nullptr) != 0) {
      ReportSet(report, errno, "bind the console pty on \"/dev/console\"");
      return -1;
    }
  }
  // Hand the master to whoever listens on --console-socket.
  int sent = linux::SendFdRaw(process.console_socket, master, "/dev/ptmx", 9);
  if (sent != 0) {
    ReportSet(report, -sent, "send the console to --console-socket");
    return -1;
  }
  ::close(master);
  ::close(process.console_socket);
  if (::ioctl(slave, TIOCSCTTY, 0) != 0) {
    ReportSet(report, errno, "make the console the controlling terminal");
    return -1;
  }
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(slave, fd) < 0) {
      ReportSet(report, errno, "attach the console to stdio");
      return -1;
    }
  }
  if (slave > 2) ::close(slave);
  return 0;
}

int ChangeDirectory(const ProcessPlan& process, ChildReport* report) noexcept {
  if (::chdir(process.cwd.c_str()) != 0) {
    ReportSet(report, errno, "process.cwd: chdir to \"", process.cwd.c_str(), "\"");
    return -1;
  }
  // A cwd reached through a leaked fd (/proc/self/fd/N) would lie outside the container's
  // root; the kernel reports such a directory as "(unreachable)...". (CVE-2024-21626)
  char buf[4096];
  if (::syscall(SYS_getcwd, buf, sizeof buf) < 0 || buf[0] != '/') {
    ReportSet(report, EPERM, "process.cwd: \"", process.cwd.c_str(),
              "\" resolves outside the container's root");
    return -1;
  }
  return 0;
}

int ApplyRlimits(const ProcessPlan& process, ChildReport* report) noexcept {
  for (const auto& r : process.rlimits) {
    if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &r.limit) != 0) {
      char number[24];
      linux::FormatDecimal(r.resource, number, sizeof number);
      ReportSet(report, errno, "process.rlimits: setrlimit resource ", number);
      return -1;
    }
  }
  return 0;
}

// After setresuid() to a non-zero uid with PR_SET_KEEPCAPS, the permitted set survives but the
// effective set is empty; loading a filter without no_new_privs needs CAP_SYS_ADMIN effective.
int RestoreEffectiveCapabilities(ChildReport* report) noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) {
    ReportSet(report, errno, "capget");
    return -1;
  }
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  if (::syscall(SYS_capset, &header, data) != 0) {
    ReportSet(report, errno, "restore effective capabilities after changing user");
    return -1;
  }
  return 0;
}

}  // namespace

int JoinSessionKeyring(const char* name, uint32_t add_permissions, ChildReport* report) noexcept {
  long serial = ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
  if (serial < 0) {
    if (errno == ENOSYS) return 0;
    ReportSet(report, errno, "join session keyring \"", name,
              "\" (create with --no-new-keyring to keep the caller's)");
    return -1;
  }
  if (add_permissions == 0) return 0;
  // "type;uid;gid;perm;description", perm in hex: keep what the keyring has, add ours.
  char description[1280];
  long size = ::syscall(SYS_keyctl, KEYCTL_DESCRIBE, serial, description, sizeof description, 0);
  if (size <= 0 || static_cast<size_t>(size) > sizeof description) {
    ReportSet(report, size < 0 ? errno : E2BIG, "describe the session keyring \"", name, "\"");
    return -1;
  }
  description[sizeof description - 1] = '\0';
  const char* p = description;
  for (int field = 0; field < 3 && *p; ++p)
    if (*p == ';') ++field;
  uint32_t permissions = 0;
  for (; *p && *p != ';'; ++p) {
    int digit = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
    if (digit < 0) break;
    permissions = permissions << 4 | static_cast<uint32_t>(digit);
  }
  if (*p != ';') {
    ReportSet(report, EINVAL, "parse the description of the session keyring \"", name, "\"");
    return -1;
  }
  if (::syscall(SYS_keyctl, KEYCTL_SETPERM, serial, permissions | add_permissions, 0, 0) != 0) {
    ReportSet(report, errno, "set the permissions of the session keyring \"", name, "\"");
    return -1;
  }
  return 0;
}

SyncMessage AwaitRuntime(int sync_fd, int type) noexcept {
  SyncMessage msg;
  ssize_t n;
  do {
    n = ::recv(sync_fd, &msg, sizeof msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n != sizeof msg || msg.type != type) ::_exit(1);
  return msg;
}

int PrepareProcess(const ProcessPlan& process, ChildReport* report) noexcept {
  if (process.terminal && SetupConsole(process, report) != 0) return -1;
  if (ChangeDirectory(process, report) != 0) return -1;
  if (ApplyRlimits(process, report) != 0) return -1;
  if (process.personality && ::personality(*process.personality) < 0) {
    ReportSet(report, errno, "linux.personality: personality");
    return -1;
  }
  return 0;
}

int FindExecutable(const ProcessPlan& process, ChildReport* report) noexcept {
  int last_errno = ENOENT;
  for (size_t i = 0; i < process.exec_candidates.size(); ++i) {
    const char* path = process.exec_candidates[i].c_str();
    struct stat st;
    if (::stat(path, &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) last_errno = errno;
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      last_errno = EACCES;
      continue;
    }
    if (::access(path, X_OK) != 0) {
      last_errno = errno;
      continue;
    }
    return static_cast<int>(i);
  }
  if (process.exec_candidates.size() == 1)
    ReportSet(report, last_errno, "exec \"", process.args[0].c_str(), "\"");
  else
    ReportSet(report, last_errno, "exec \"", process.args[0].c_str(),
              "\": executable file not found in $PATH");
  return -1;
}

int ExecProcess(const ProcessPlan& process, ChildReport* report) noexcept {
  int exe = FindExecutable(process, report);
  if (exe < 0) return -1;

  if (!process.selinux_label.empty()) {
    int r = WriteFileRaw("/proc/self/attr/exec", process.selinux_label.data(),
                         process.selinux_label.size());
    if (r != 0) {
      ReportSet(report, -r, "process.selinuxLabel: write /proc/self/attr/exec");
      return -1;
    }
  }
  if (!process.apparmor_profile.empty()) {
    int r = WriteFileRaw("/proc/self/attr/apparmor/exec", process.apparmor_profile.data(),
                         process.apparmor_profile.size());
    if (r != 0)
      r = WriteFileRaw("/proc/self/attr/exec", process.apparmor_profile.data(),
                       process.apparmor_profile.size());
    if (r != 0) {
      ReportSet(report, -r, "process.apparmorProfile: apply \"",
                process.apparmor_profile.c_str() + 5, "\"");
      return -1;
    }
  }

  // Credentials: groups, then gid, then uid (keeping the permitted capabilities).
  if (::setgroups(process.additional_gids.size(), process.additional_gids.data()) != 0 &&
      !(errno == EPERM && process.additional_gids.empty())) {
    ReportSet(report, errno, "process.user.additionalGids: setgroups");
    return -1;
  }
  // Keep the permitted set across the change of user when it is still needed: to apply the
  // configured capabilities, or to load a filter without no_new_privs. execve() of a non-root
  // process drops whatever is not ambient anyway.
  bool keep_caps = process.capabilities || (process.seccomp && !process.no_new_privileges);
  if (keep_caps && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    ReportSet(report, errno, "prctl(PR_SET_KEEPCAPS)");
    return -1;
  }
  if (::setresgid(process.gid, process.gid, process.gid) != 0) {
    ReportSet(report, errno, "process.user.gid: setresgid");
    return -1;
  }
  if (::setresuid(process.uid, process.uid, process.uid) != 0) {
    ReportSet(report, errno, "process.user.uid: setresuid");
    return -1;
  }
  if (process.umask) ::umask(*process.umask);

  // Nothing but stdio and --preserve-fds reaches the container (CVE-2024-21626 class); the
  // sync socket is CLOEXEC already and tells the runtime the exec happened.
  unsigned first_closed = 3u + static_cast<unsigned>(process.preserve_fds);
  if (linux::sys::CloseRange(first_closed, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    ReportSet(report, errno, "close_range");
    return -1;
  }
  for (int fd = 3; fd < static_cast<int>(first_closed); ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }

  if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    ReportSet(report, errno, "process.noNewPrivileges: prctl");
    return -1;
  }

  auto apply_caps = [&]() noexcept -> int {
    if (!process.capabilities) return 0;
    int r = ApplyCapabilities(*process.capabilities);
    if (r != 0) {
      ReportSet(report, -r, "process.capabilities: apply");
      return -1;
    }
    return 0;
  };
  auto apply_seccomp = [&]() noexcept -> int {
    if (!process.seccomp) return 0;
    int r = LoadSeccomp(*process.seccomp);
    if (r != 0) {
      ReportSet(report, -r, "linux.seccomp: load the filter");
      return -1;
    }
    return 0;
  };
  // Seccomp goes last, so the profile never blocks the runtime's own setup. Without
  // noNewPrivileges, loading it needs CAP_SYS_ADMIN, so it precedes the capability change (with
  // the effective set made whole again after a change of user) and only capset/prctl and
  // execve run under it.
  if (process.no_new_privileges) {
    if (apply_caps() != 0 || apply_seccomp() != 0) return -1;
  } else {
    if (process.seccomp && process.uid != 0 && RestoreEffectiveCapabilities(report) != 0)
      return -1;
    if (apply_seccomp() != 0 || apply_caps() != 0) return -1;
  }

  const char* program = process.exec_candidates[static_cast<size_t>(exe)].c_str();
  if (process.trampoline_fd >= 0) {
    // The trampoline inherits the sync socket to report a failed execve of the program; it
    // makes it close-on-exec again itself. Through /proc/self/fd (execve, which every seccomp
    // profile allows), or execveat where the container has no /proc.
    process.trampoline_argv[1] = const_cast<char*>(program);
    ::fcntl(process.trampoline_report_fd, F_SETFD, 0);
    char path[32];
    linux::FormatProcSelfFd(process.trampoline_fd, path, sizeof path);
    ::execve(path, process.trampoline_argv.data(), process.envp.data());
    ::execveat(process.trampoline_fd, "", process.trampoline_argv.data(), process.envp.data(),
               AT_EMPTY_PATH);
    int saved = errno;
    ::fcntl(process.trampoline_report_fd, F_SETFD, FD_CLOEXEC);
    ReportSet(report, saved, "exec the trampoline for \"", program, "\"");
    return -1;
  }
  ::execve(program, process.argv.data(), process.envp.data());
  ReportSet(report, errno, "exec \"", program, "\"");
  return -1;
}

void RunInit(InitPlan& plan) noexcept {
  ChildReport report;
  const int sync = plan.sync_fd;
  auto fail = [&]() noexcept { Die(sync, report); };
  if (plan.lock_fd >= 0) ::close(plan.lock_fd);

  // Signals: the runtime may block some; the container starts with none blocked.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // cgroup joined, id maps written (unless we make the user namespace ourselves); the message
  // carries our pid as the runtime sees it.
  SyncMessage go = AwaitRuntime(sync, SyncMessage::kContinue);

  // In the order OrderJoins() gave: what the runtime's user namespace owns before a joined user
  // namespace, what that one owns after it.
  for (auto& join : plan.namespaces.joins) {
    if (join.flag == CLONE_NEWPID) continue;  // joined by the runtime before clone
    if (::setns(join.fd.get(), join.flag) != 0) {
      ReportSet(&report, errno, "join namespace \"", join.path.c_str(), "\"");
      fail();
    }
    join.fd.reset();
  }
  // A new user namespace made after the joins, which needed the runtime's privileges; the
  // runtime writes its id maps meanwhile.
  if (plan.unshare_user) {
    if (::unshare(CLONE_NEWUSER) != 0) {
      ReportSet(&report, errno, "unshare user namespace");
      fail();
    }
    SendMessage(sync, SyncMessage::kUserNamespaceReady, nullptr);
    Expect(sync, SyncMessage::kContinue);
  }
  // After joining or making the user namespace, the other new namespaces are made inside it.
  if (plan.unshare_flags != 0 && ::unshare(plan.unshare_flags) != 0) {
    ReportSet(&report, errno, "unshare namespaces");
    fail();
  }
  // The cgroup namespace is made after the runtime moved us into the container's cgroup, so
  // that cgroup is its root.
  if ((plan.namespaces.new_flags & CLONE_NEWCGROUP) && ::unshare(CLONE_NEWCGROUP) != 0) {
    ReportSet(&report, errno, "unshare cgroup namespace");
    fail();
  }
  // Before the change of user: that makes us non-dumpable, and /proc/self/timens_offsets then
  // belongs to the host's root, which a user namespace cannot write to.
  if (plan.unshare_time && SetupTimeNamespace(plan, &report) != 0) fail();
  if (plan.become_root_in_userns) {
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) {
      ReportSet(&report, errno, "become root in the user namespace (is 0 mapped?)");
      fail();
    }
  }
  // Non-dumpable for the rest of our life (execve of the trampoline ends it): until then we are
  // the runtime's binary, and /proc/PID/exe (and the rest of /proc/PID) of a non-dumpable
  // process is closed to processes without CAP_SYS_PTRACE over it, such as an `exec`'d process
  // while we wait for `start` or run startContainer hooks (CVE-2019-5736); our children (hooks)
  // inherit it. Containers that may have CAP_SYS_PTRACE get a sealed copy of the runtime
  // instead (launch.cc). Not earlier: timens_offsets above must still be ours to write.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // A session keyring of the container's own, made by its root (of its user namespace, if it has
  // one), before anything of the container runs.
  if (!plan.session_keyring.empty() &&
      JoinSessionKeyring(plan.session_keyring.c_str(), plan.session_keyring_search, &report) != 0)
    fail();
  if (plan.fork_into_pid_namespace) go = ForkIntoPidNamespace(sync);
  if (plan.state_pid_offset != 0) {
    char number[24];
    linux::FormatDecimal(go.pid, number, sizeof number);
    std::memcpy(plan.state_json.data() + plan.state_pid_offset, number, std::strlen(number));
  }
  ::setsid();
  if (plan.hostname &&
      ::sethostname(plan.hostname->data(), plan.hostname->size()) != 0) {
    ReportSet(&report, errno, "hostname: sethostname");
    fail();
  }
  if (plan.domainname &&
      ::setdomainname(plan.domainname->data(), plan.domainname->size()) != 0) {
    ReportSet(&report, errno, "domainname: setdomainname");
    fail();
  }
  if (plan.wait_after_namespaces) {
    SendMessage(sync, SyncMessage::kNamespacesReady, nullptr);
    Expect(sync, SyncMessage::kContinue);
  }

  // Through the host's /proc, before readonlyPaths make /proc/sys read-only: the files follow
  // the namespaces of the process that opens them, so they are the container's.
  for (const auto& [path, value] : plan.sysctl) {
    int r = WriteFileRaw(path.c_str(), value.data(), value.size());
    if (r != 0) {
      ReportSet(&report, -r, "linux.sysctl: write \"", path.c_str(), "\"");
      fail();
    }
  }
  if (plan.has_mount_namespace) {
    if (PrepareRootfs(plan.rootfs, &report) != 0) fail();
    if (plan.wait_after_mounts) {
      SendMessage(sync, SyncMessage::kMountsReady, nullptr);
      Expect(sync, SyncMessage::kContinue);
    }
    if (FinishRootfs(plan.rootfs, &report) != 0) fail();
  }

  const ProcessPlan& process = plan.process;
  if (PrepareProcess(process, &report) != 0) fail();
  // Fail at create, not at start, when the program does not exist (as crun does).
  if (FindExecutable(process, &report) < 0) fail();

  SendMessage(sync, SyncMessage::kReady, nullptr);
  if (plan.mode == InitPlan::Mode::kCreate) {
    // Blocks until `start` opens the fifo for reading.
    char path[32];
    linux::FormatProcSelfFd(plan.exec_fifo_fd, path, sizeof path);
    int fifo = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fifo < 0) {
      ReportSet(&report, errno, "open exec.fifo");
      fail();
    }
    char byte = 0;
    linux::WriteAllRaw(fifo, &byte, 1);
    ::close(fifo);
    ::close(plan.exec_fifo_fd);
  } else {
    Expect(sync, SyncMessage::kStart);
  }

  if (!plan.start_container_hooks.empty() &&
      RunPreparedHooks(plan.start_container_hooks, plan.state_json, nullptr, 0, &report) != 0)
    fail();

  ExecProcess(process, &report);
  fail();
  ::_exit(1);  // not reached
}

}  // namespace hull::container
