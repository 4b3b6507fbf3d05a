// linux.resources.devices: which mechanism enforces it, and the cgroup v2 one (an eBPF program
// attached to the container's cgroup). The v1 files are written by v1::ApplyDevices.
#include <fcntl.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "container/cgroup_internal.h"
#include "container/device_filter.h"
#include "linux/bpf_program.h"
#include "linux/file.h"
#include "linux/unique_fd.h"

namespace hull::container {

namespace {

constexpr const char* kField = "linux.resources.devices";
// Shown by `bpftool prog` (at most 15 characters).
constexpr const char* kProgramName = "hull_devices";
// The kernel looks at the license only for GPL-only helpers, which the program does not call.
constexpr const char* kProgramLicense = "unspecified";

// Adds "linux.resources.devices: " (and `what`, if given) in front of a failure.
template <typename T>
Result<T> InField(Result<T> result, const std::string& what = "") {
  if (!result) {
    std::string context = kField;
    if (!what.empty()) context += ": " + what;
    return tl::unexpected(std::move(result).error().Wrap(std::move(context)));
  }
  return result;
}

}  // namespace

DeviceControl ChooseDeviceControl(const CgroupLayout& layout, const std::string& cgroup_path) {
  auto v1 = LocateController(layout, cgroup_path, "devices");
  if (v1 && !v1->v2) return {DeviceControl::Kind::kV1Files, v1->path};
  if (!layout.unified_mount.empty())
    return {DeviceControl::Kind::kBpfProgram, layout.unified_mount + cgroup_path};
  return {};
}

namespace v2 {

Result<void> ApplyDevices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules) {
  // Errors in the rules name the rule; compile before touching the cgroup.
  std::vector<bpf_insn> program = TRY(CompileDeviceFilter(WithDefaultDeviceRules(rules)));

  linux::UniqueFd cgroup = TRY(InField(linux::Open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
  // What is attached now: the program of the previous create/update, if any.
  std::vector<uint32_t> previous =
      TRY(InField(linux::QueryBpfPrograms(cgroup.get(), BPF_CGROUP_DEVICE), Quote(dir)));
  linux::UniqueFd loaded = TRY(InField(linux::LoadBpfProgram(
      BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, program, kProgramName, kProgramLicense)));
  TRY(InField(
      linux::AttachBpfProgram(cgroup.get(), loaded.get(), BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI),
      "attach to " + Quote(dir)));

  // The new program is in force; only now take the old ones away. Until then both ran, and a
  // device was allowed only if both allowed it.
  for (uint32_t id : previous) {
    const std::string what =
        "detach previous program " + std::to_string(id) + " from " + Quote(dir);
    Result<linux::UniqueFd> old = linux::BpfProgramFdById(id);
    if (!old && old.error().code() == ENOENT) continue;  // already gone
    linux::UniqueFd old_fd = TRY(InField(std::move(old), what));
    Result<void> detached = linux::DetachBpfProgram(cgroup.get(), old_fd.get(), BPF_CGROUP_DEVICE);
    if (!detached && detached.error().code() == ENOENT) continue;  // detached meanwhile
    TRY(InField(std::move(detached), what));
  }
  return {};
}

}  // namespace v2

}  // namespace hull::container
