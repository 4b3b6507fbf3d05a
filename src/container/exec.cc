// exec: a new process in the namespaces and cgroup of a running container.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "container/container.h"
#include "container/exec_trampoline.h"
#include "container/init.h"
#include "container/launch.h"
#include "container/passwd.h"
#include "container/terminal.h"
#include "linux/file.h"
#include "linux/process.h"
#include "linux/sealed_self.h"
#include "linux/syscalls.h"
#include "oci/spec_json.h"
#include "oci/validate.h"

namespace hull::container {
namespace {

struct ExecPlan {
  // In the order OrderJoins() gives; the pid namespace is joined by the runtime before clone.
  std::vector<NamespaceJoin> joins;
  std::string session_keyring;  // the container's ("_ses.ID"), or empty (--no-new-keyring)
  ProcessPlan process;
  int sync_fd = -1;
};

int EnterContainer(ExecPlan& plan, ChildReport* report) noexcept {
  AwaitRuntime(plan.sync_fd, SyncMessage::kContinue);
  for (auto& join : plan.joins) {
    if (::setns(join.fd.get(), join.flag) != 0) {
      ReportSet(report, errno, "join namespace \"", join.path.c_str(), "\"");
      return -1;
    }
  }
  ::setsid();
  // The container's session keyring, found by name (its init made it searchable for us), as
  // runc does: never the caller's.
  if (!plan.session_keyring.empty() &&
      JoinSessionKeyring(plan.session_keyring.c_str(), 0, report) != 0)
    return -1;
  if (PrepareProcess(plan.process, report) != 0) return -1;
  return ExecProcess(plan.process, report);
}

[[noreturn]] void RunExecChild(ExecPlan& plan) noexcept {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  SyncMessage msg;
  EnterContainer(plan, &msg.report);
  msg.type = SyncMessage::kFailed;
  ::send(plan.sync_fd, &msg, sizeof msg, MSG_NOSIGNAL);
  ::_exit(127);
}

}  // namespace

Result<oci::Process> DefaultExecProcess(const StateStore& store, const std::string& id) {
  std::string text = TRY(store.LoadConfig(id));
  oci::Spec spec = TRY(oci::ParseSpec(text));
  if (!spec.process) return oci::Process{};
  oci::Process process = *spec.process;
  process.terminal = false;
  process.args.clear();
  process.console_size.reset();
  return process;
}

Result<int> Exec(const StateStore& store, const ExecOptions& options) {
  ContainerRecord record = TRY(store.Load(options.id));
  std::string config = TRY(store.LoadConfig(options.id));
  oci::Spec spec = TRY(oci::ParseSpec(config));
  // The container has processes already: it must never be able to reach the binary on the
  // host (exec_trampoline.h). A container allowed to ptrace gets a runtime re-executed from a
  // sealed copy; any other one a sealed trampoline before the program.
  if (ContainerMayPtrace(spec)) TRY(linux::ReexecFromSealedCopy());
  TRY(oci::ValidateProcess(options.process, "process"));
  TRY(CheckPreservedFds(options.preserve_fds));
  if (!ProcessAlive(record.pid, record.pid_start_time))
    return Fail(EINVAL, "cannot exec in container " + Quote(options.id) + ": it is stopped");
  // Container processes cannot open /proc/PID/exe of a non-dumpable process: the runtime's
  // binary stays out of their reach while this process is in their namespaces (CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  std::optional<oci::Seccomp> seccomp = spec.linux ? spec.linux->seccomp : std::nullopt;
  ExecPlan plan;
  if (!record.no_new_keyring) plan.session_keyring = "_ses." + options.id;
  oci::Process process = options.process;
  AddHomeIfMissing(process, "/proc/" + std::to_string(record.pid) + "/root");
  plan.process = TRY(PlanProcess(process, seccomp, SeccompCacheDir(), "process"));
  plan.process.preserve_fds = options.preserve_fds;
  if (spec.linux && spec.linux->personality)
    plan.process.personality = TRY(PlanPersonality(*spec.linux->personality));
  linux::UniqueFd console_socket;
  std::optional<ConsoleChannel> console;  // the runtime itself is the terminal
  if (plan.process.terminal) {
    if (!options.console_socket.empty()) {
      console_socket = TRY_CTX(linux::ConnectUnix(options.console_socket), "--console-socket");
    } else if (!options.detach) {
      console = TRY(MakeConsoleChannel());
      console_socket = std::move(console->container_end);
    } else {
      return Fail(EINVAL, "--tty with --detach needs --console-socket to receive the terminal");
    }
    plan.process.console_socket = console_socket.get();
  }

  // Join every namespace the container has that differs from ours: those its user namespace
  // does not own (a network namespace of the host's, joined by path) before that user namespace.
  auto joins = TRY(
      OpenNamespacesOf(record.pid, {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC,
                                    CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWPID}));
  linux::UniqueFd pid_ns;
  for (auto& join : joins) {
    if (join.flag == CLONE_NEWPID)
      pid_ns = std::move(join.fd);
    else
      plan.joins.push_back(std::move(join));
  }
  Cgroup cgroup = TRY(OpenContainerCgroup(record));
  // A frozen cgroup would freeze the new process too, before it could report back.
  if (!options.ignore_paused && cgroup.IsFrozen().value_or(false))
    return Fail(EINVAL, "cannot exec in container " + Quote(options.id) +
                            ": it is paused (resume it, or pass --ignore-paused)");

  if (pid_ns && ::setns(pid_ns.get(), CLONE_NEWPID) != 0)
    return FailErrno("join the pid namespace of container " + Quote(options.id));

  SyncSockets sockets = TRY(MakeSyncSockets());
  plan.sync_fd = sockets.child_end.get();
  linux::UniqueFd trampoline;
  if (!linux::RunningFromSealedCopy())
    trampoline = TRY(UseExecTrampoline(plan.process, plan.sync_fd));

  ClonedChild child = TRY(CloneWithSyncSockets(sockets, 0, [&plan] { RunExecChild(plan); }));
  const pid_t pid = child.pid;
  const int pidfd = child.pidfd.get();
  console_socket.reset();
  auto kill_child = [&](Error e) -> Result<int> {
    linux::sys::PidfdSendSignal(pidfd, SIGKILL, nullptr, 0);
    (void)linux::WaitChild(pid);
    return tl::unexpected(std::move(e));
  };
  if (auto r = cgroup.AddProcess(pid); !r) return kill_child(r.error());
  if (auto r = SendContinue(sockets.runtime_end.get(), pid); !r)
    return kill_child(std::move(r.error()).Wrap("start the exec process"));
  if (auto r = WaitForExec(sockets.runtime_end.get()); !r) return kill_child(std::move(r.error()));
  // A relative --pid-file is relative to where the runtime was called: it never changes
  // directory (the child's chdir to process.cwd is its own).
  if (!options.pid_file.empty()) {
    if (auto r = linux::WriteFileAtomic(options.pid_file, std::to_string(pid)); !r)
      return kill_child(std::move(r.error()).Wrap("--pid-file"));
  }
  if (options.detach) return 0;
  if (console) {
    auto master = linux::ReceiveFd(console->runtime_end.get());
    if (!master) return kill_child(std::move(master.error()).Wrap("the process's terminal"));
    return ProxyTerminalAndWait(pid, pidfd, master->get());
  }

  return ForwardSignalsAndWait(pid, pidfd);
}

}  // namespace hull::container
