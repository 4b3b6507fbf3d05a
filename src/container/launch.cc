#include "container/launch.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <ctime>

#include "base/defer.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/time.h"
#include "base/version.h"
#include "container/exec_trampoline.h"
#include "container/init.h"
#include "container/passwd.h"
#include "container/rootfs.h"
#include "linux/file.h"
#include "linux/process.h"
#include "linux/sealed_self.h"
#include "linux/syscalls.h"
#include "oci/spec_json.h"
#include "oci/validate.h"

namespace hull::container {

std::string HookState(const ContainerRecord& record, const char* status, bool pretty) {
  oci::State state;
  state.oci_version = kOciSpecVersion;
  state.id = record.id;
  state.status = status;
  state.pid = std::string_view(status) == "stopped" ? 0 : record.pid;
  state.bundle = record.bundle;
  state.annotations = record.annotations;
  return oci::SerializeState(state, pretty);
}

namespace {

Result<std::string> AbsolutePath(const std::string& path, const std::string& field) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return FailErrno(field + ": " + Quote(path));
  return std::string(buf);
}

// Kills and reaps a half-made init, removes its cgroup and state directory.
// Declared after everything it undoes, so it runs while the pidfd, cgroup and lock still exist.
struct Rollback {
  const StateStore& store;
  std::string id;
  const linux::UniqueFd* pidfd = nullptr;
  std::optional<Cgroup>* cgroup = nullptr;
  pid_t pid = 0;
  bool armed = true;

  ~Rollback() {
    if (!armed) return;
    if (pid > 0) {
      if (pidfd && pidfd->valid())
        linux::sys::PidfdSendSignal(pidfd->get(), SIGKILL, nullptr, 0);
      else
        ::kill(pid, SIGKILL);
      (void)linux::WaitChild(pid);
    }
    if (cgroup && *cgroup) {
      if (auto r = (*cgroup)->Destroy(); !r) log::Warning("cleanup: " + r.error().ToString());
    }
    if (auto r = store.Remove(id); !r) log::Warning("cleanup: " + r.error().ToString());
  }
};

Result<SyncMessage> ReceiveMessage(int fd) {
  SyncMessage msg;
  while (true) {
    ssize_t n = ::recv(fd, &msg, sizeof msg, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno("read from the container's init");
    if (n == 0) return Fail("the container's init exited unexpectedly");
    if (n != sizeof msg) return Fail("short message from the container's init");
    return msg;
  }
}

// Which namespace a sysctl belongs to (CLONE_NEW*), or 0 for one that is global to the host.
int SysctlNamespace(std::string_view key) {
  if (StartsWith(key, "net.")) return CLONE_NEWNET;
  if (StartsWith(key, "fs.mqueue.")) return CLONE_NEWIPC;
  for (std::string_view ipc : {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                               "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                               "kernel.shm_rmid_forced"})
    if (key == ipc) return CLONE_NEWIPC;
  if (key == "kernel.hostname" || key == "kernel.domainname") return CLONE_NEWUTS;
  return 0;
}

// Only sysctls of a namespace the container has of its own: anything else would change the host.
Result<std::vector<std::pair<std::string, std::string>>> PlanSysctl(
    const std::map<std::string, std::string>& sysctl, const NamespacePlan& ns) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : sysctl) {
    if (key.empty() || key.find("..") != std::string::npos || key.find('/') != std::string::npos)
      return Fail(EINVAL, "linux.sysctl: invalid key " + Quote(key));
    int flag = SysctlNamespace(key);
    if (flag == 0)
      return Fail(EINVAL, "linux.sysctl: " + Quote(key) +
                              " is not namespaced: setting it would change the host");
    if (!(ns.new_flags & flag) && !ns.joins_flag(flag))
      return Fail(EINVAL, "linux.sysctl: " + Quote(key) + " needs the container's own " +
                              NamespaceProcName(flag) + " namespace");
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
    out.emplace_back(path, value);
  }
  return out;
}

// Opens the namespaces of `pid` that createContainer hooks enter: every one that differs from
// the runtime's (created or joined), in an order the hook can join them (OrderJoins). The pid
// namespace is left out: it would apply only to the hook's children.
Result<std::vector<NamespaceJoin>> OpenContainerNamespaces(pid_t pid) {
  return OpenNamespacesOf(
      pid, {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP});
}

}  // namespace

// Key permission bits (the kernel's KEY_USR_SEARCH, KEY_OTH_SEARCH, not in the uapi headers).
constexpr uint32_t kKeyUserSearch = 0x00080000;
constexpr uint32_t kKeyOthersSearch = 0x00000008;

Result<Launched> Launch(const StateStore& store, const CreateOptions& options, LaunchMode mode) {
  TRY(oci::ValidateContainerId(options.id));
  TRY(CheckPreservedFds(options.preserve_fds));
  // Paths on the command line are relative to where the runtime was called (as in runc), not to
  // the bundle it works from after the chdir below.
  std::string bundle = TRY(AbsolutePath(options.bundle, "--bundle"));
  std::string pid_file;
  if (!options.pid_file.empty())
    pid_file = TRY_CTX(linux::AbsoluteFromCwd(options.pid_file), "--pid-file");
  std::string config_path = bundle + "/config.json";
  std::string config_text = TRY(linux::ReadFile(config_path));
  oci::Spec spec = TRY_CTX(oci::ParseSpec(config_text), Quote(config_path));
  TRY_CTX(oci::ValidateSpec(spec), Quote(config_path));
  if (!spec.process) return Fail(EINVAL, Quote(config_path) + ": process: required to run");
  const oci::Linux& lx = *spec.linux;  // ValidateSpec requires it (a mount namespace)

  // Our init is the runtime's binary until it executes the sealed trampoline, and it is
  // non-dumpable: nothing in the container can open its /proc/PID/exe, unless the container
  // may have CAP_SYS_PTRACE, or it meets processes before our exec because it joins an
  // existing pid namespace. Then the whole runtime goes on from a sealed copy
  // (linux/sealed_self.h), before anything is created and before the chdir below, so the
  // command line means the same to the copy.
  bool joins_pid_namespace = std::any_of(lx.namespaces.begin(), lx.namespaces.end(), [](auto& n) {
    return n.type == "pid" && !n.path.empty();
  });
  if (joins_pid_namespace || ContainerMayPtrace(spec)) TRY(linux::ReexecFromSealedCopy());

  // Relative paths in config.json (root.path, bind sources) are relative to the bundle.
  if (::chdir(bundle.c_str()) != 0) return FailErrno("--bundle: chdir " + Quote(bundle));
  std::string root_path = spec.root.path.empty() || spec.root.path[0] == '/'
                              ? spec.root.path
                              : bundle + "/" + spec.root.path;
  std::string rootfs = TRY(AbsolutePath(root_path, "root.path"));

  InitPlan plan;
  plan.mode = mode == LaunchMode::kCreate ? InitPlan::Mode::kCreate : InitPlan::Mode::kRun;
  plan.namespaces = TRY(PlanNamespaces(lx.namespaces));
  NamespacePlan& ns = plan.namespaces;
  if (!spec.hostname.empty()) {
    if (!(ns.new_flags & CLONE_NEWUTS))
      return Fail(EINVAL, "hostname: setting it needs a new uts namespace");
    plan.hostname = spec.hostname;
  }
  if (!spec.domainname.empty()) {
    if (!(ns.new_flags & CLONE_NEWUTS))
      return Fail(EINVAL, "domainname: setting it needs a new uts namespace");
    plan.domainname = spec.domainname;
  }
  bool joins_user = ns.joins_flag(CLONE_NEWUSER);
  // A new user namespace with namespaces joined by path: the init joins them first, with the
  // runtime's privileges (a joined network namespace is usually the host's, which a process in
  // the new user namespace may not enter), then makes the user namespace (runc's order). With
  // clone3() making it, the joins would come too late. The pid namespace the runtime joins.
  bool joins_before_new_user =
      ns.new_user() && std::any_of(ns.joins.begin(), ns.joins.end(),
                                   [](const NamespaceJoin& j) { return j.flag != CLONE_NEWPID; });
  // Then, as after joining a user namespace, the init makes the other new namespaces itself so
  // that the user namespace owns them, forking into a new pid namespace.
  bool init_unshares = joins_user || joins_before_new_user;
  plan.unshare_user = joins_before_new_user;
  plan.fork_into_pid_namespace = init_unshares && ns.new_pid();
  plan.become_root_in_userns = ns.new_user() || joins_user;
  if (!options.no_new_keyring) {
    plan.session_keyring = "_ses." + options.id;
    // Searchable by whoever joins the container later (`exec`): its owner, root, without a
    // user namespace; with one, root of the host is "others" to a keyring owned by the
    // container's root (runc's permissions).
    plan.session_keyring_search = plan.become_root_in_userns ? kKeyOthersSearch : kKeyUserSearch;
  }
  // The init unshares the time namespace itself when it has offsets to write first, and when it
  // unshares everything itself.
  if ((ns.new_flags & CLONE_NEWTIME) && (!lx.time_offsets.empty() || init_unshares)) {
    plan.unshare_time = true;
    plan.time_offsets = FormatTimeOffsets(lx.time_offsets);
  }
  plan.has_mount_namespace = ns.new_flags & CLONE_NEWNS;
  plan.sysctl = TRY(PlanSysctl(lx.sysctl, ns));

  AddHomeIfMissing(*spec.process, rootfs);
  plan.process = TRY(PlanProcess(*spec.process, lx.seccomp, SeccompCacheDir(), "process"));
  if (lx.personality) plan.process.personality = TRY(PlanPersonality(*lx.personality));
  plan.process.preserve_fds = options.preserve_fds;
  linux::UniqueFd console_socket;
  if (plan.process.terminal) {
    if (options.console_fd >= 0) {
      plan.process.console_socket = options.console_fd;
    } else {
      if (options.console_socket.empty())
        return Fail(EINVAL,
                    "process.terminal is true: pass --console-socket to receive the terminal "
                    "(or set terminal to false)");
      console_socket = TRY_CTX(linux::ConnectUnix(options.console_socket), "--console-socket");
      plan.process.console_socket = console_socket.get();
    }
  }

  // From here on, everything made is undone on failure.
  TRY(store.CreateDir(options.id));
  std::optional<ContainerLock> lock;
  std::optional<Cgroup> cgroup;
  linux::UniqueFd owned_pidfd;
  Rollback rollback{store, options.id, &owned_pidfd, &cgroup};
  lock = TRY(ContainerLock::Acquire(store, options.id));
  TRY(store.SaveConfig(options.id, config_text));

  CgroupLayout layout = TRY(DetectCgroupLayout());
  cgroup = TRY(Cgroup::Create(layout, lx.cgroups_path, options.id,
                              lx.resources ? &*lx.resources : nullptr, options.systemd_cgroup));
  if (plan.has_mount_namespace)
    plan.rootfs = TRY(PlanRootfs(spec, rootfs, cgroup->MountPoints(), ns.new_user() || joins_user,
                                 options.no_pivot));

  ContainerRecord record;
  record.id = options.id;
  record.bundle = bundle;
  record.rootfs = rootfs;
  record.created = NowRfc3339();
  record.owner = ::getuid() == 0 ? "root" : std::to_string(::getuid());
  record.cgroups_path = cgroup->path();
  record.systemd_cgroup = options.systemd_cgroup;
  // Only a new one dies with the init; a joined one outlives it (runc's distinction).
  record.has_pid_namespace = ns.new_pid();
  record.no_new_keyring = options.no_new_keyring;
  record.annotations = spec.annotations;

  const oci::Hooks no_hooks;
  const oci::Hooks& hooks = spec.hooks ? *spec.hooks : no_hooks;
  plan.wait_after_namespaces = !hooks.prestart.empty() || !hooks.create_runtime.empty();
  plan.wait_after_mounts = !hooks.create_container.empty() && plan.has_mount_namespace;
  if (!hooks.start_container.empty()) {
    plan.start_container_hooks = PrepareHooks(hooks.start_container, "startContainer");
    record.pid = INT_MAX;  // a placeholder of the widest pid, blanked below
    plan.state_json = HookState(record, "created", false);
    std::string marker = std::to_string(INT_MAX);
    std::string field = "\"pid\":" + marker;  // not a match inside the id or bundle
    plan.state_pid_offset = plan.state_json.find(field) + field.size() - marker.size();
    plan.state_json.replace(plan.state_pid_offset, marker.size(), marker.size(), ' ');
  }

  linux::UniqueFd fifo;
  if (mode == LaunchMode::kCreate) {
    std::string fifo_path = TRY(store.FifoPath(options.id));
    if (::mkfifo(fifo_path.c_str(), 0600) != 0) return FailErrno("mkfifo " + Quote(fifo_path));
    // The init opens it as root of its user namespace, a uid the host's root-owned 0600 refuses,
    // so writing is open to all (as runc does); only root can reach the 0700 state directory.
    if (plan.become_root_in_userns && ::chmod(fifo_path.c_str(), 0622) != 0)
      return FailErrno("chmod " + Quote(fifo_path));
    fifo = TRY(linux::Open(fifo_path, O_PATH));
    plan.exec_fifo_fd = fifo.get();
  }

  SyncSockets sockets = TRY(MakeSyncSockets());
  plan.sync_fd = sockets.child_end.get();
  plan.lock_fd = lock->fd();
  // The container's program is started through the sealed trampoline (exec_trampoline.h): even
  // a program whose interpreter is /proc/self/exe never gets the runtime's binary. A sealed
  // copy of the runtime needs none: that copy is all the container could reach.
  linux::UniqueFd trampoline;
  if (!linux::RunningFromSealedCopy())
    trampoline = TRY(UseExecTrampoline(plan.process, plan.sync_fd));

  // A pid namespace joined by path applies to the children of whoever joins it: join it for the
  // clone only, so hooks still run in the runtime's pid namespace.
  linux::UniqueFd own_pid_namespace;
  for (auto& join : ns.joins) {
    if (join.flag != CLONE_NEWPID) continue;
    own_pid_namespace = TRY(linux::Open("/proc/self/ns/pid", O_RDONLY));
    if (::setns(join.fd.get(), CLONE_NEWPID) != 0)
      return FailErrno("linux.namespaces: join pid namespace " + Quote(join.path));
  }

  int clone_flags = init_unshares ? 0 : ns.new_flags & ~CLONE_NEWCGROUP;
  if (plan.unshare_time) clone_flags &= ~CLONE_NEWTIME;
  if (init_unshares)
    plan.unshare_flags = ns.new_flags & ~(CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME);
  ClonedChild init = TRY(CloneWithSyncSockets(sockets, clone_flags, [&plan] { RunInit(plan); }));
  owned_pidfd = std::move(init.pidfd);
  rollback.pid = init.pid;
  if (own_pid_namespace && ::setns(own_pid_namespace.get(), CLONE_NEWPID) != 0)
    return FailErrno("return to the runtime's pid namespace");
  console_socket.reset();
  fifo.reset();
  record.pid = init.pid;

  TRY(cgroup->AddProcess(record.pid));
  if (ns.new_user() && !plan.unshare_user)
    TRY(WriteIdMaps(record.pid, lx.uid_mappings, lx.gid_mappings));
  if (spec.process->oom_score_adj)
    TRY_CTX(linux::WriteFile("/proc/" + std::to_string(record.pid) + "/oom_score_adj",
                             std::to_string(*spec.process->oom_score_adj), O_WRONLY),
            "process.oomScoreAdj");
  TRY(SendContinue(sockets.runtime_end.get(), record.pid));

  while (true) {
    auto msg = ReceiveMessage(sockets.runtime_end.get());
    if (!msg) {
      // The init may have died from a signal before it could report.
      return tl::unexpected(std::move(msg.error()));
    }
    if (msg->type == SyncMessage::kFailed) return Fail(msg->report.err, msg->report.what);
    if (msg->type == SyncMessage::kUserNamespaceReady) {
      TRY(WriteIdMaps(record.pid, lx.uid_mappings, lx.gid_mappings));
    } else if (msg->type == SyncMessage::kInitForked) {
      // The process we cloned made the pid namespace and forked the container's init into it,
      // as our child (CLONE_PARENT); it exits now. The cgroup, id maps and oom_score_adj it
      // had, the init inherited.
      int status = TRY(linux::WaitChild(record.pid));
      owned_pidfd.reset();
      rollback.pid = 0;
      if (msg->pid <= 0) return Fail("bad pid from the container's init");
      record.pid = msg->pid;
      rollback.pid = record.pid;  // our child, unreaped: its pid cannot be reused
      if (status != 0) return Fail("the container's init failed to start in its pid namespace");
      owned_pidfd = TRY(linux::OpenPidFd(record.pid));
    } else if (msg->type == SyncMessage::kNamespacesReady) {
      std::string state = HookState(record, "creating", false);
      TRY(RunHooks(hooks.prestart, "prestart", state));
      TRY(RunHooks(hooks.create_runtime, "createRuntime", state));
    } else if (msg->type == SyncMessage::kMountsReady) {
      auto joins = TRY(OpenContainerNamespaces(record.pid));
      std::vector<int> raw;
      for (auto& join : joins) raw.push_back(join.fd.get());
      auto prepared = PrepareHooks(hooks.create_container, "createContainer");
      ChildReport report;
      if (RunPreparedHooks(prepared, HookState(record, "creating", false), raw.data(),
                           raw.size(), &report) != 0)
        return Fail(report.err, report.what);
    } else if (msg->type == SyncMessage::kReady) {
      break;
    } else {
      return Fail("unexpected message from the container's init");
    }
    TRY(SendContinue(sockets.runtime_end.get(), record.pid));
  }

  record.pid_start_time = ProcessStartTime(record.pid);
  TRY(store.Save(record));
  if (!pid_file.empty())
    TRY_CTX(linux::WriteFileAtomic(pid_file, std::to_string(record.pid)), "--pid-file");
  rollback.armed = false;
  return Launched{std::move(record), std::move(spec), std::move(owned_pidfd),
                  std::move(sockets.runtime_end)};
}

Result<SyncSockets> MakeSyncSockets() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
    return FailErrno("socketpair");
  return SyncSockets{linux::UniqueFd(fds[0]), linux::UniqueFd(fds[1])};
}

Result<void> SendContinue(int sync_fd, pid_t pid) {
  SyncMessage msg;
  msg.type = SyncMessage::kContinue;
  msg.pid = pid;
  while (::send(sync_fd, &msg, sizeof msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return FailErrno("write to the container's process");
  }
  return {};
}

ForwardedSignals::ForwardedSignals() {
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT})
    sigaddset(&forwarded, s);
  ::sigprocmask(SIG_BLOCK, &forwarded, &old_mask_);
  fd_.reset(::signalfd(-1, &forwarded, SFD_CLOEXEC));
}

ForwardedSignals::~ForwardedSignals() {
  fd_.reset();
  ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

int ForwardedSignals::Next() {
  signalfd_siginfo info;
  if (::read(fd_.get(), &info, sizeof info) != sizeof info) return 0;
  return static_cast<int>(info.ssi_signo);
}

Result<int> ForwardSignalsAndWait(pid_t pid, int pidfd) {
  ForwardedSignals signals;
  while (signals.fd() >= 0) {
    pollfd fds[2] = {{pidfd, POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[0].revents) break;
    if (int signal_number = signals.Next())
      linux::sys::PidfdSendSignal(pidfd, signal_number, nullptr, 0);
  }
  int status = TRY(linux::WaitChild(pid));
  return linux::ExitCodeFromStatus(status);
}

Result<Cgroup> OpenContainerCgroup(const ContainerRecord& record) {
  auto layout = TRY(DetectCgroupLayout());
  return Cgroup::Open(layout, record.cgroups_path, record.id, record.systemd_cgroup);
}

Result<void> WaitForExec(int sync_fd) {
  SyncMessage msg;
  while (true) {
    ssize_t n = ::recv(sync_fd, &msg, sizeof msg, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return {};
    if (n == sizeof msg && msg.type == SyncMessage::kFailed)
      return Fail(msg.report.err, msg.report.what);
    if (n < 0) return FailErrno("read from the container's process");
    return Fail("unexpected message from the container's process");
  }
}

Result<void> Destroy(const StateStore& store, const ContainerRecord& record,
                     const oci::Spec* spec) {
  auto cgroup = OpenContainerCgroup(record);
  if (cgroup) {
    // Without a pid namespace of its own, the container's other processes outlive its init.
    // With one, they died with it: whatever else is in the cgroup is not the container's and
    // is left alone (as runc does), and so is the cgroup then.
    if (!record.has_pid_namespace) {
      if (auto pids = cgroup->Pids()) {
        for (pid_t p : *pids) ::kill(p, SIGKILL);
      }
    }
    if (auto removed = cgroup->Destroy(); !removed)
      log::Warning(std::move(removed.error()).Wrap("delete " + Quote(record.id)).ToString());
  }
  if (spec && spec->hooks && !spec->hooks->poststop.empty()) {
    if (auto r = RunHooks(spec->hooks->poststop, "poststop", HookState(record, "stopped", false));
        !r)
      log::Warning(r.error().ToString());
  }
  return store.Remove(record.id);
}

}  // namespace hull::container
