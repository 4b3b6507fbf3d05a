// The runtime's record of containers under --root (default /run/hull-runtime):
//
//   ROOT/ID/            one directory per container, mode 0700
//   ROOT/ID/state.json  what later commands need (pid and its start time, bundle, cgroup...)
//   ROOT/ID/config.json the bundle's config.json as it was at create (exec reuses it)
//   ROOT/ID/exec.fifo   exists while the container is "created": `start` opens it
//
// Concurrency: every command that changes a container holds an exclusive flock on ROOT/ID
// (ContainerLock); readers (`state`, `list`) take none and tolerate a half-written container.
//
// Every id is checked (oci::ValidateContainerId) before it becomes part of a path, here and
// nowhere else: each command reaches a container's files only through this class, so an id
// such as "../x" can never name a directory outside ROOT (runc checks on load in the same way).
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"
#include "oci/runtime_spec.h"

namespace hull::container {

struct ContainerRecord {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // field 22 of /proc/PID/stat: detects pid reuse
  std::string bundle;           // absolute
  std::string rootfs;           // absolute
  std::string created;          // RFC 3339
  std::string owner;            // user name or uid
  std::string cgroups_path;
  bool systemd_cgroup = false;
  bool has_pid_namespace = true;  // a new one; false: delete must signal every cgroup pid
  bool no_new_keyring = false;    // created with --no-new-keyring: `exec` joins no keyring
  std::map<std::string, std::string> annotations;
};

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* StatusName(Status status);

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  // ROOT/ID, or an error naming the id when it is not a valid container id.
  [[nodiscard]] Result<std::string> Dir(const std::string& id) const;
  [[nodiscard]] Result<std::string> FifoPath(const std::string& id) const;

  // Creates ROOT/ID; fails with EEXIST and a clear message when the id is taken.
  [[nodiscard]] Result<void> CreateDir(const std::string& id) const;
  [[nodiscard]] Result<void> Save(const ContainerRecord& record) const;
  [[nodiscard]] Result<ContainerRecord> Load(const std::string& id) const;
  [[nodiscard]] Result<std::string> LoadConfig(const std::string& id) const;
  [[nodiscard]] Result<void> SaveConfig(const std::string& id, std::string_view json) const;
  [[nodiscard]] Result<void> Remove(const std::string& id) const;
  // Ids of every container directory, sorted.
  [[nodiscard]] Result<std::vector<std::string>> List() const;

 private:
  std::string root_;
};

// Holds an exclusive flock on ROOT/ID until destroyed.
class ContainerLock {
 public:
  [[nodiscard]] static Result<ContainerLock> Acquire(const StateStore& store,
                                                     const std::string& id);
  // A child forked while the lock is held shares it until it closes this fd.
  int fd() const { return fd_.get(); }

 private:
  explicit ContainerLock(linux::UniqueFd fd) : fd_(std::move(fd)) {}
  linux::UniqueFd fd_;
};

// Where compiled seccomp programs are cached for every container of this user: /run/hull
// for root, $XDG_RUNTIME_DIR/hull otherwise; "" (no cache) when neither applies.
std::string SeccompCacheDir();

// The status of a recorded container, from its process and cgroup freezer.
// `frozen` is whether the cgroup is frozen (callers that know it pass it in).
Status CurrentStatus(const StateStore& store, const ContainerRecord& record, bool frozen);

// Start time of a process (field 22 of /proc/PID/stat), or 0 if it does not exist.
uint64_t ProcessStartTime(pid_t pid);
// True while `pid` exists with the given start time and is not a zombie.
bool ProcessAlive(pid_t pid, uint64_t start_time);

}  // namespace hull::container
