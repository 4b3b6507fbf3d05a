// Out-of-memory notifications of a container's cgroup, for `events` (runc's "oom" events).
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

#include "base/strings.h"
#include "container/cgroup.h"
#include "container/cgroup_internal.h"
#include "linux/cgroupfs.h"
#include "linux/file.h"

namespace hull::container {
namespace {

// oom (times the limit was hit and reclaim failed) plus oom_kill (processes killed for it):
// either moving means the container ran out of memory.
Result<uint64_t> ReadOomCount(const std::string& dir) {
  std::string text = TRY(linux::ReadCgroupFile(dir + "/memory.events"));
  auto counters = linux::ParseFlatKeyed(text);
  return counters["oom"] + counters["oom_kill"];
}

}  // namespace

Result<OomWatch> Cgroup::WatchOom() const {
  auto dir = LocateController(layout_, path_, "memory");
  if (!dir) return Fail(ENOTSUP, "the memory cgroup controller is not available on this host");
  const std::string context = "watch " + Quote(dir->path) + " for out-of-memory events";
  OomWatch watch;
  watch.dir_ = dir->path;
  watch.v2_ = dir->v2;
  if (dir->v2) {
    watch.notify_fd_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!watch.notify_fd_.valid()) return FailErrno(context + ": inotify_init1");
    std::string events = dir->path + "/memory.events";
    if (::inotify_add_watch(watch.notify_fd_.get(), events.c_str(), IN_MODIFY) < 0)
      return FailErrno(context + ": inotify_add_watch " + Quote(events));
    watch.oom_count_ = TRY_CTX(ReadOomCount(dir->path), context);
    return watch;
  }
  // cgroup v1: "<eventfd> <fd of memory.oom_control>" written to cgroup.event_control.
  watch.oom_control_fd_ =
      TRY_CTX(linux::Open(dir->path + "/memory.oom_control", O_RDONLY), context);
  watch.notify_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!watch.notify_fd_.valid()) return FailErrno(context + ": eventfd");
  TRY_CTX(linux::WriteCgroupFile(dir->path + "/cgroup.event_control",
                                 std::to_string(watch.notify_fd_.get()) + " " +
                                     std::to_string(watch.oom_control_fd_.get())),
          context);
  return watch;
}

Result<bool> OomWatch::Consume() {
  if (v2_) {
    // Drain the inotify queue, then compare the counters: memory.events changes for other
    // reasons too (low, high, max).
    char buffer[4096];
    while (::read(notify_fd_.get(), buffer, sizeof buffer) > 0) {
    }
    auto count = ReadOomCount(dir_);
    if (!count) return false;  // the cgroup is gone
    bool grew = *count > oom_count_;
    oom_count_ = *count;
    return grew;
  }
  uint64_t events = 0;
  ssize_t n = ::read(notify_fd_.get(), &events, sizeof events);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
  if (n != sizeof events) return FailErrno("read the out-of-memory eventfd of " + Quote(dir_));
  // The kernel also signals the eventfd when the cgroup is removed.
  return linux::Exists(dir_ + "/cgroup.event_control");
}

}  // namespace hull::container
