// create, start, run, state, list, kill, delete, pause, resume, ps, update, events.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>

#include "base/log.h"
#include "base/version.h"
#include "container/container.h"
#include "container/init.h"
#include "container/launch.h"
#include "container/terminal.h"
#include "linux/file.h"
#include "linux/process.h"
#include "linux/syscalls.h"
#include "oci/spec_json.h"
#include "oci/validate.h"

namespace hull::container {
namespace {

std::optional<oci::Spec> LoadSavedSpec(const StateStore& store, const std::string& id) {
  auto text = store.LoadConfig(id);
  if (!text) return std::nullopt;
  auto spec = oci::ParseSpec(*text);
  if (!spec) return std::nullopt;
  return std::move(*spec);
}

Status StatusOf(const StateStore& store, const ContainerRecord& record) {
  bool frozen = false;
  if (ProcessAlive(record.pid, record.pid_start_time)) {
    if (auto cgroup = OpenContainerCgroup(record)) {
      if (auto f = cgroup->IsFrozen()) frozen = *f;
    }
  }
  return CurrentStatus(store, record, frozen);
}

Result<linux::UniqueFd> OpenInitPidFd(const ContainerRecord& record) {
  auto pidfd = linux::OpenPidFd(record.pid);
  // The start time is checked after the pidfd exists, so the pidfd is known to refer to the
  // container's init and not to a process that reused its pid.
  if (!pidfd || !ProcessAlive(record.pid, record.pid_start_time))
    return Fail(ESRCH, "container " + Quote(record.id) + " is not running");
  return pidfd;
}

void RunPoststart(const oci::Spec& spec, const ContainerRecord& record) {
  if (!spec.hooks || spec.hooks->poststart.empty()) return;
  // The spec: a failing poststart hook is logged and the runtime carries on.
  if (auto r = RunHooks(spec.hooks->poststart, "poststart", HookState(record, "running", false));
      !r)
    log::Warning(r.error().ToString());
}

}  // namespace

Result<void> Create(const StateStore& store, const CreateOptions& options) {
  TRY(Launch(store, options, LaunchMode::kCreate));
  return {};
}

Result<void> Start(const StateStore& store, const std::string& id) {
  ContainerLock lock = TRY(ContainerLock::Acquire(store, id));
  ContainerRecord record = TRY(store.Load(id));
  Status status = StatusOf(store, record);
  if (status != Status::kCreated)
    return Fail(EINVAL, "cannot start container " + Quote(id) + ": it is " + StatusName(status) +
                            ", not created");
  linux::UniqueFd pidfd = TRY(OpenInitPidFd(record));
  std::string fifo_path = TRY(store.FifoPath(id));
  linux::UniqueFd fifo = TRY(linux::Open(fifo_path, O_RDONLY | O_NONBLOCK));
  // The init is blocked opening the fifo for writing; now it writes one byte and goes on.
  while (true) {
    pollfd fds[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, 10000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno("poll exec.fifo");
    if (n == 0) return Fail(ETIMEDOUT, "container " + Quote(id) + " did not start");
    if (fds[0].revents & POLLIN) {
      char byte;
      if (::read(fifo.get(), &byte, 1) == 1) break;
    }
    if (fds[1].revents) return Fail("container " + Quote(id) + ": its init exited before start");
  }
  ::unlink(fifo_path.c_str());
  if (auto spec = LoadSavedSpec(store, id)) RunPoststart(*spec, record);
  return {};
}

Result<int> Run(const StateStore& store, const CreateOptions& requested, bool detach,
                bool keep) {
  // In the foreground without --console-socket the runtime is the terminal (if there is one).
  CreateOptions options = requested;
  std::optional<ConsoleChannel> console;
  if (!detach && options.console_socket.empty()) {
    console = TRY(MakeConsoleChannel());
    options.console_fd = console->container_end.get();
  }
  Launched c = TRY(Launch(store, options, LaunchMode::kRun));
  linux::UniqueFd master;
  if (console) {
    console->container_end.reset();
    if (c.spec.process->terminal) {
      auto received = linux::ReceiveFd(console->runtime_end.get());
      if (!received) {
        linux::sys::PidfdSendSignal(c.pidfd.get(), SIGKILL, nullptr, 0);
        (void)linux::WaitChild(c.record.pid);
        if (auto r = Destroy(store, c.record, nullptr); !r) log::Warning(r.error().ToString());
        return tl::unexpected(std::move(received.error()).Wrap("the container's terminal"));
      }
      master = std::move(*received);
    }
  }
  auto fail_and_destroy = [&](Error error) -> Result<int> {
    linux::sys::PidfdSendSignal(c.pidfd.get(), SIGKILL, nullptr, 0);
    (void)linux::WaitChild(c.record.pid);
    if (auto r = Destroy(store, c.record, nullptr); !r) log::Warning(r.error().ToString());
    return tl::unexpected(std::move(error));
  };
  {
    ContainerLock lock = TRY(ContainerLock::Acquire(store, options.id));
    SyncMessage start;
    start.type = SyncMessage::kStart;
    if (::send(c.sync.get(), &start, sizeof start, MSG_NOSIGNAL) != sizeof start)
      return fail_and_destroy(Error::FromErrno("start the container's init"));
    if (auto r = WaitForExec(c.sync.get()); !r) return fail_and_destroy(std::move(r.error()));
  }
  RunPoststart(c.spec, c.record);
  if (detach) return 0;
  int code = master ? TRY(ProxyTerminalAndWait(c.record.pid, c.pidfd.get(), master.get()))
                    : TRY(ForwardSignalsAndWait(c.record.pid, c.pidfd.get()));
  if (!keep) {
    ContainerLock lock = TRY(ContainerLock::Acquire(store, options.id));
    TRY(Destroy(store, c.record, &c.spec));
  }
  return code;
}

Result<std::string> StateJson(const StateStore& store, const std::string& id) {
  ContainerRecord record = TRY(store.Load(id));
  Status status = StatusOf(store, record);
  oci::State state;
  state.oci_version = kOciSpecVersion;
  state.id = record.id;
  state.status = StatusName(status);
  state.pid = status == Status::kStopped ? 0 : record.pid;
  state.bundle = record.bundle;
  state.annotations = record.annotations;
  return oci::SerializeStateWith(
      state, {{"rootfs", record.rootfs}, {"created", record.created}, {"owner", record.owner}},
      true);
}

Result<std::vector<ListEntry>> List(const StateStore& store) {
  std::vector<ListEntry> out;
  for (const auto& id : TRY(store.List())) {
    auto record = store.Load(id);
    if (!record) continue;  // being created or deleted right now
    Status status = StatusOf(store, *record);
    out.push_back({std::move(*record), status});
  }
  return out;
}

Result<void> Kill(const StateStore& store, const std::string& id, int signal, bool all) {
  ContainerRecord record = TRY(store.Load(id));
  if (all) {
    Cgroup cgroup = TRY(OpenContainerCgroup(record));
    for (pid_t pid : TRY(cgroup.Pids())) ::kill(pid, signal);
    return {};
  }
  linux::UniqueFd pidfd = TRY(OpenInitPidFd(record));
  if (linux::sys::PidfdSendSignal(pidfd.get(), signal, nullptr, 0) != 0)
    return FailErrno("kill container " + Quote(id));
  return {};
}

Result<void> Delete(const StateStore& store, const std::string& id, bool force) {
  // Clients clean up with `delete --force` whether or not the container got made, and two of
  // them may race: as with runc, a container that does not exist (any more) is nothing to do,
  // and that is success. (An invalid id fails with its own error, never ENOENT.)
  auto lock = ContainerLock::Acquire(store, id);
  if (!lock) {
    if (force && lock.error().code() == ENOENT) return {};
    return tl::unexpected(std::move(lock.error()));
  }
  auto loaded = store.Load(id);
  if (!loaded) {
    if (force && loaded.error().code() == ENOENT) return {};  // deleted while we waited
    // Left half-made by a create that was itself killed: nothing runs, remove the record.
    if (force && loaded.error().code() == EAGAIN) return store.Remove(id);
    return tl::unexpected(std::move(loaded.error()));
  }
  ContainerRecord& record = *loaded;
  Status status = StatusOf(store, record);
  if (status == Status::kRunning || status == Status::kPaused) {
    if (!force)
      return Fail(EBUSY, "cannot delete container " + Quote(id) + " that is " +
                             StatusName(status) + " (use --force)");
  }
  if (status != Status::kStopped) {
    auto pidfd = OpenInitPidFd(record);
    if (status == Status::kPaused) {
      if (auto cgroup = OpenContainerCgroup(record)) (void)cgroup->Thaw();
    }
    if (pidfd) {
      linux::sys::PidfdSendSignal(pidfd->get(), SIGKILL, nullptr, 0);
      if (!TRY(linux::WaitPidFdExit(pidfd->get(), 10000)))
        return Fail(ETIMEDOUT, "container " + Quote(id) + " did not die after SIGKILL");
    }
  }
  auto spec = LoadSavedSpec(store, id);
  return Destroy(store, record, spec ? &*spec : nullptr);
}

Result<void> Pause(const StateStore& store, const std::string& id) {
  ContainerLock lock = TRY(ContainerLock::Acquire(store, id));
  ContainerRecord record = TRY(store.Load(id));
  Status status = StatusOf(store, record);
  if (status != Status::kRunning && status != Status::kCreated)
    return Fail(EINVAL, "cannot pause container " + Quote(id) + ": it is " + StatusName(status));
  Cgroup cgroup = TRY(OpenContainerCgroup(record));
  return cgroup.Freeze();
}

Result<void> Resume(const StateStore& store, const std::string& id) {
  ContainerLock lock = TRY(ContainerLock::Acquire(store, id));
  ContainerRecord record = TRY(store.Load(id));
  Status status = StatusOf(store, record);
  if (status != Status::kPaused)
    return Fail(EINVAL, "cannot resume container " + Quote(id) + ": it is " + StatusName(status) +
                            ", not paused");
  Cgroup cgroup = TRY(OpenContainerCgroup(record));
  return cgroup.Thaw();
}

Result<std::vector<pid_t>> Processes(const StateStore& store, const std::string& id) {
  ContainerRecord record = TRY(store.Load(id));
  Cgroup cgroup = TRY(OpenContainerCgroup(record));
  return cgroup.Pids();
}

Result<void> Update(const StateStore& store, const std::string& id,
                    const oci::Resources& resources) {
  ContainerLock lock = TRY(ContainerLock::Acquire(store, id));
  ContainerRecord record = TRY(store.Load(id));
  if (StatusOf(store, record) == Status::kStopped)
    return Fail(EINVAL, "cannot update container " + Quote(id) + ": it is stopped");
  Cgroup cgroup = TRY(OpenContainerCgroup(record));
  return cgroup.Update(resources);
}

Result<void> Events(const StateStore& store, const std::string& id, bool once,
                    std::chrono::nanoseconds interval,
                    const std::function<void(const std::string&)>& emit) {
  ContainerRecord record = TRY(store.Load(id));
  // The stream ends when the init exits: its pidfd turns readable.
  auto pidfd = OpenInitPidFd(record);
  if (!pidfd)
    return Fail(EINVAL, "container " + Quote(id) + (once ? " is stopped" : " is not running"));
  Cgroup cgroup = TRY(OpenContainerCgroup(record));
  if (once) {
    emit(FormatStatsEvent(id, TRY(cgroup.Stats())));
    return {};
  }
  // Before the first stats event, so that an out-of-memory after it is never missed.
  std::optional<OomWatch> oom;
  if (auto watch = cgroup.WatchOom()) {
    oom = std::move(*watch);
  } else {
    log::Warning("events: no out-of-memory events: " + watch.error().ToString());
  }
  using Clock = std::chrono::steady_clock;
  while (true) {
    auto stats = cgroup.Stats();
    if (!stats) {
      if (TRY(linux::WaitPidFdExit(pidfd->get(), 0))) return {};
      return tl::unexpected(std::move(stats.error()));
    }
    emit(FormatStatsEvent(id, *stats));
    const auto next = Clock::now() + interval;
    for (auto now = Clock::now(); now < next; now = Clock::now()) {
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now);
      pollfd fds[2] = {{pidfd->get(), POLLIN, 0}, {oom ? oom->fd() : -1, POLLIN, 0}};
      int n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(wait.count(), INT32_MAX)));
      if (n < 0 && errno != EINTR) return FailErrno("events: poll");
      if (n <= 0) continue;
      bool exited = fds[0].revents != 0;
      // At the init's exit too: an out-of-memory kill that ended it is counted before it is
      // gone, but may be notified later (v2 queues its inotify event).
      if (oom && ((fds[1].revents & POLLIN) || exited) && TRY(oom->Consume()))
        emit(FormatOomEvent(id));
      if (exited) return {};
    }
  }
}

}  // namespace hull::container
