// Pieces of the cgroup implementation shared by cgroup*.cc and exposed for unit tests. Not for
// use outside src/container/cgroup*.cc and their tests.
//
//   cgroup_layout.cc  hierarchy detection from mountinfo
//   cgroup_path.cc    linux.cgroupsPath normalisation, locating a controller's directory
//   cgroup.cc         the Cgroup class: create/open/update/freeze/pids/destroy
//   cgroup_v1.cc      v1 control files
//   cgroup_v2.cc      v2 control files (pure v2 hosts, and the unified part of hybrid hosts)
//   cgroup_devices.cc linux.resources.devices: v1 files or a v2 eBPF program (device_filter.h)
//   cgroup_stats.cc   reading statistics; cgroup_events.cc formats them as runc's JSON
//   cgroup_oom.cc     out-of-memory notifications (v1 eventfd, v2 memory.events) for `events`
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "container/cgroup.h"
#include "oci/runtime_spec.h"

namespace hull::container {

// --- layout (cgroup_layout.cc) ---

// The layout described by a mountinfo text; unified_controllers is left empty (it needs a read
// of the cgroup2 root). Pure, for tests with fixture texts.
[[nodiscard]] Result<CgroupLayout> ParseCgroupLayout(std::string_view mountinfo);

// --- paths (cgroup_path.cc) ---

// linux.cgroupsPath -> "/a/b/c": relative paths are taken from the root, "" becomes
// "/hull/<id>", "." and empty components vanish, ".." is resolved; a ".." above the root or a
// path naming the root itself is rejected with an error naming linux.cgroupsPath.
[[nodiscard]] Result<std::string> NormaliseCgroupPath(const std::string& cgroups_path,
                                                      const std::string& id);

// Where a controller's files for the container live.
struct ControllerDir {
  std::string path;
  bool v2 = false;  // v2 file names (the unified hierarchy)
};
// The v1 hierarchy carrying `controller` (v1 name: blkio, not io), else the unified hierarchy
// when it offers the controller.
std::optional<ControllerDir> LocateController(const CgroupLayout& layout,
                                              const std::string& cgroup_path,
                                              std::string_view controller);
// Basename of a mount point: "/sys/fs/cgroup/cpu,cpuacct" -> "cpu,cpuacct".
std::string MountName(const std::string& mount_point);

// --- devices (cgroup_devices.cc) ---

// How linux.resources.devices is enforced for a container's cgroup.
struct DeviceControl {
  enum class Kind {
    kNone,        // neither a v1 devices hierarchy nor cgroup2: cannot be enforced
    kV1Files,     // devices.allow/devices.deny in the v1 devices hierarchy
    kBpfProgram,  // a BPF_CGROUP_DEVICE program attached in the cgroup2 hierarchy
  };
  Kind kind = Kind::kNone;
  std::string dir;  // the container's directory in that hierarchy
};
// A v1 devices hierarchy wins (hybrid hosts keep using it); otherwise the cgroup2 hierarchy,
// where the kernel runs device programs (on hybrid hosts it runs them before the v1 rules).
// Pure, for tests with hand-made layouts.
DeviceControl ChooseDeviceControl(const CgroupLayout& layout, const std::string& cgroup_path);

// --- conversions (cgroup_v2.cc) ---

// cpu.shares (2..262144) -> cpu.weight (1..10000), the mapping crun and runc use.
uint64_t CpuSharesToWeight(uint64_t shares);
// blkio.weight (10..1000) -> io.weight (1..10000).
uint64_t BlkioWeightToIoWeight(uint64_t weight);
// The spec's memory.swap is memory+swap; v2's memory.swap.max counts swap alone. Returns the
// value for memory.swap.max ("max" or a number), or nullopt when nothing is to be written
// (swap 0). `limit` is the memory limit in force (the spec's, or memory.max when updating).
[[nodiscard]] Result<std::optional<std::string>> SwapToV2SwapMax(int64_t swap,
                                                                 std::optional<int64_t> limit);

// --- applying resources ---

// Writes `value` to `dir`/`file`; the error names the config field and the file:
// `linux.resources.pids.limit: write "/sys/fs/cgroup/pids/c1/pids.max": Invalid argument`.
[[nodiscard]] Result<void> WriteResource(const std::string& dir, std::string_view file,
                                         std::string_view value, std::string_view field);

namespace v1 {
[[nodiscard]] Result<void> ApplyMemory(const std::string& dir, const oci::MemoryResources& m);
[[nodiscard]] Result<void> ApplyCpu(const std::string& dir, const oci::CpuResources& cpu);
[[nodiscard]] Result<void> ApplyCpuset(const std::string& dir, const oci::CpuResources& cpu);
// Fills an empty cpuset.cpus/cpuset.mems from the parent: a v1 cpuset with either empty
// refuses tasks.
[[nodiscard]] Result<void> InheritCpuset(const std::string& dir);
[[nodiscard]] Result<void> ApplyPids(const std::string& dir, const oci::PidsResources& pids);
[[nodiscard]] Result<void> ApplyBlkio(const std::string& dir, const oci::BlockIoResources& io);
[[nodiscard]] Result<void> ApplyHugetlb(const std::string& dir,
                                        const std::vector<oci::HugepageLimit>& limits);
// Denies everything, applies `rules` in order, then allows the spec's default devices.
[[nodiscard]] Result<void> ApplyDevices(const std::string& dir,
                                        const std::vector<oci::DeviceCgroupRule>& rules);
[[nodiscard]] Result<void> ApplyNetCls(const std::string& dir, uint32_t class_id);
[[nodiscard]] Result<void> ApplyNetPrio(const std::string& dir,
                                        const std::vector<oci::NetworkPriority>& priorities);
[[nodiscard]] Result<void> Freeze(const std::string& dir);
[[nodiscard]] Result<void> Thaw(const std::string& dir);
[[nodiscard]] Result<bool> IsFrozen(const std::string& dir);
}  // namespace v1

namespace v2 {
[[nodiscard]] Result<void> ApplyMemory(const std::string& dir, const oci::MemoryResources& m);
[[nodiscard]] Result<void> ApplyCpu(const std::string& dir, const oci::CpuResources& cpu);
[[nodiscard]] Result<void> ApplyCpuset(const std::string& dir, const oci::CpuResources& cpu);
[[nodiscard]] Result<void> ApplyPids(const std::string& dir, const oci::PidsResources& pids);
[[nodiscard]] Result<void> ApplyIo(const std::string& dir, const oci::BlockIoResources& io);
[[nodiscard]] Result<void> ApplyHugetlb(const std::string& dir,
                                        const std::vector<oci::HugepageLimit>& limits);
// Compiles `rules` followed by the default devices (device_filter.h) into a BPF_CGROUP_DEVICE
// program and attaches it to `dir` (BPF_F_ALLOW_MULTI); then detaches every other device
// program attached to `dir` itself, so that after an `update` exactly one (the new one) is
// there and at no moment none is. The container's directory is the runtime's, so what is
// attached there is taken to be ours. Descriptors are closed on return; the attachment lives
// until the next call or until the directory is removed.
[[nodiscard]] Result<void> ApplyDevices(const std::string& dir,
                                        const std::vector<oci::DeviceCgroupRule>& rules);
// linux.resources.unified: each key is a file name in `dir`.
[[nodiscard]] Result<void> ApplyUnified(const std::string& dir,
                                        const std::map<std::string, std::string>& files);
// Enables each of `controllers` that `dir` offers in its cgroup.subtree_control, one at a time;
// a controller the kernel refuses is logged and skipped (the later write of its file reports
// the problem with the field's name).
void EnableSubtreeControllers(const std::string& dir, const std::vector<std::string>& controllers);
[[nodiscard]] Result<void> Freeze(const std::string& dir);
[[nodiscard]] Result<void> Thaw(const std::string& dir);
[[nodiscard]] Result<bool> IsFrozen(const std::string& dir);
}  // namespace v2

// --- stats helpers (cgroup_stats.cc) ---

// "8:0 Read 4096" lines of blkio.throttle.io_service_bytes (the "Total" line is dropped).
std::vector<CgroupStats::BlkioEntry> ParseBlkioStat(std::string_view text);
// io.stat lines "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." -> bytes and ops entries.
void ParseIoStat(std::string_view text, std::vector<CgroupStats::BlkioEntry>* bytes,
                 std::vector<CgroupStats::BlkioEntry>* ops);

}  // namespace hull::container
