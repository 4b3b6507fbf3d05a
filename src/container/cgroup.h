// cgroups for containers on v1, v2 and hybrid hosts.
//
// A container's cgroup is one directory per hierarchy: for every v1 hierarchy mounted on the
// host (cpu,cpuacct / memory / pids / ...) and, where a cgroup2 mount exists, in the unified
// hierarchy (on hybrid hosts it holds whatever controllers v2 has, e.g. only hugetlb). The
// layout is detected from /proc/self/mountinfo each time; nothing about it is stored, so a
// later command (`update`, `delete`) reopens the same cgroup from cgroupsPath alone.
//
// Thread-safety: none; each runtime command is single-threaded.
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

struct CgroupLayout {
  enum class Mode { kV1, kV2, kHybrid };
  Mode mode = Mode::kV2;
  // v1: hierarchy mount point -> controllers on it, e.g. "/sys/fs/cgroup/cpu,cpuacct" ->
  // {"cpu", "cpuacct"}. Named hierarchies such as name=systemd are included.
  std::map<std::string, std::vector<std::string>> v1_hierarchies;
  std::string unified_mount;                  // "" when no cgroup2 is mounted
  std::vector<std::string> unified_controllers;  // from cgroup.controllers of its root
};

[[nodiscard]] Result<CgroupLayout> DetectCgroupLayout();

// One hierarchy of a container's cgroup as it should appear inside the container when the
// config mounts a "cgroup" filesystem: `name` is the directory under /sys/fs/cgroup
// ("cpu,cpuacct", "memory", "unified" or "" for a pure-v2 host) and `host_path` the container's
// cgroup directory on the host.
struct CgroupMountPoint {
  std::string name;
  std::string host_path;
  bool unified = false;
};

// Figures that `events --stats` reports (runc's "stats" event shape; missing values are 0).
struct CgroupStats {
  uint64_t cpu_usage_total = 0, cpu_usage_user = 0, cpu_usage_kernel = 0;  // nanoseconds
  std::vector<uint64_t> cpu_usage_percpu;
  uint64_t cpu_throttling_periods = 0, cpu_throttled_periods = 0, cpu_throttled_time = 0;
  uint64_t memory_usage = 0, memory_max_usage = 0, memory_limit = 0, memory_failcnt = 0;
  uint64_t swap_usage = 0, swap_limit = 0;
  std::map<std::string, uint64_t> memory_raw;  // memory.stat
  uint64_t pids_current = 0, pids_limit = 0;   // limit 0 = unlimited
  struct BlkioEntry {
    uint64_t major = 0, minor = 0;
    std::string op;
    uint64_t value = 0;
  };
  std::vector<BlkioEntry> io_service_bytes, io_serviced;
  std::map<std::string, uint64_t> hugetlb_usage;  // page size ("2MB") -> bytes
};

// Notifications that a container's cgroup ran out of memory (runc's "oom" events). On cgroup
// v1 an eventfd registered for memory.oom_control through cgroup.event_control; on v2 an
// inotify watch on memory.events, whose oom and oom_kill counters are compared with the last
// ones seen. Move-only; owns its descriptors.
class OomWatch {
 public:
  // Poll it for POLLIN.
  int fd() const { return notify_fd_.get(); }
  // After POLLIN: whether the cgroup hit an out-of-memory condition since the last call (false
  // for a wake-up that was not one, such as the v1 cgroup being removed).
  [[nodiscard]] Result<bool> Consume();

 private:
  friend class Cgroup;
  bool v2_ = false;
  std::string dir_;                 // the container's memory cgroup directory
  linux::UniqueFd notify_fd_;       // eventfd (v1) or inotify (v2)
  linux::UniqueFd oom_control_fd_;  // v1: memory.oom_control, kept open while registered
  uint64_t oom_count_ = 0;          // v2: oom + oom_kill as last read
};

class Cgroup {
 public:
  // Creates the container's cgroup in every hierarchy and applies `resources` (may be null).
  // `cgroups_path` is linux.cgroupsPath: absolute paths are taken from each hierarchy's root,
  // relative ones from the root too (as runc does); empty means "/hull/<id>". With
  // `systemd`, the "slice:prefix:name" form is expected and a clear error is returned when the
  // host has no systemd. A cgroup that exists already is taken over only while it holds no
  // process (EBUSY naming linux.cgroupsPath otherwise). On failure nothing is left behind.
  [[nodiscard]] static Result<Cgroup> Create(const CgroupLayout& layout,
                                            const std::string& cgroups_path,
                                            const std::string& id,
                                            const oci::Resources* resources, bool systemd);
  // Reopens an existing container cgroup (for update, events, pause, delete).
  [[nodiscard]] static Result<Cgroup> Open(const CgroupLayout& layout,
                                          const std::string& cgroups_path,
                                          const std::string& id, bool systemd);

  // Moves `pid` into the cgroup in every hierarchy.
  [[nodiscard]] Result<void> AddProcess(pid_t pid) const;
  // Applies changed resources to a live cgroup (`update`). Only fields present change.
  [[nodiscard]] Result<void> Update(const oci::Resources& resources) const;
  [[nodiscard]] Result<void> Freeze() const;  // waits until FROZEN
  [[nodiscard]] Result<void> Thaw() const;
  [[nodiscard]] Result<bool> IsFrozen() const;
  // All pids in the cgroup (host pid namespace), from the pids/freezer/unified hierarchy.
  [[nodiscard]] Result<std::vector<pid_t>> Pids() const;
  [[nodiscard]] Result<CgroupStats> Stats() const;
  // Starts watching for out-of-memory events (ENOTSUP where the memory controller is missing).
  [[nodiscard]] Result<OomWatch> WatchOom() const;
  // Removes the directories (children first). A missing directory is not an error; a
  // populated one is retried briefly, then reported.
  [[nodiscard]] Result<void> Destroy() const;

  std::vector<CgroupMountPoint> MountPoints() const;
  const std::string& path() const { return path_; }

 private:
  CgroupLayout layout_;
  std::string path_;                     // normalised, absolute within each hierarchy
  std::vector<CgroupMountPoint> dirs_;   // one per hierarchy, in layout order
};

// runc's `events` JSON for a stats event: {"type":"stats","id":ID,"data":{...}}.
std::string FormatStatsEvent(const std::string& id, const CgroupStats& stats);
// runc's `events` JSON for an out-of-memory event: {"type":"oom","id":ID}.
std::string FormatOomEvent(const std::string& id);

}  // namespace hull::container
