// The Cgroup class: creating, opening, updating, freezing and removing a container's cgroup in
// every hierarchy of the host. The control files themselves are in cgroup_v1.cc / cgroup_v2.cc.
#include "container/cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "base/defer.h"
#include "base/log.h"
#include "base/strings.h"
#include "container/cgroup_internal.h"
#include "linux/cgroupfs.h"
#include "linux/file.h"

namespace hull::container {

namespace {

using Clock = std::chrono::steady_clock;

Result<void> CheckSystemd(bool systemd) {
  if (!systemd) return {};
  auto comm = linux::ReadFile("/proc/1/comm");
  std::string name = comm ? std::string(Trim(*comm)) : "unknown";
  if (name != "systemd")
    return Fail("--systemd-cgroup: systemd is not running on this host (PID 1 is " + Quote(name) +
                ")");
  return Fail(
      "--systemd-cgroup: the systemd cgroup driver is not supported yet; run without "
      "--systemd-cgroup to manage cgroupfs directly");
}

std::vector<CgroupMountPoint> BuildDirs(const CgroupLayout& layout, const std::string& path) {
  std::vector<CgroupMountPoint> dirs;
  for (const auto& [mount, controllers] : layout.v1_hierarchies)
    dirs.push_back({MountName(mount), mount + path, false});
  if (!layout.unified_mount.empty()) {
    std::string name =
        layout.mode == CgroupLayout::Mode::kV2 ? "" : MountName(layout.unified_mount);
    dirs.push_back({name, layout.unified_mount + path, true});
  }
  return dirs;
}

bool HasCpuLimits(const oci::CpuResources& cpu) {
  return cpu.shares || cpu.quota || cpu.burst || cpu.period || cpu.realtime_runtime ||
         cpu.realtime_period || cpu.idle;
}

bool HasMemoryLimits(const oci::MemoryResources& m) {
  return m.limit || m.reservation || m.swap || m.kernel || m.kernel_tcp || m.swappiness ||
         m.disable_oom_killer || m.use_hierarchy;
}

// The controllers `resources` uses, by their v1 names.
std::vector<std::string> ControllersUsed(const oci::Resources& r) {
  std::vector<std::string> used;
  if (r.memory && HasMemoryLimits(*r.memory)) used.push_back("memory");
  if (r.cpu && HasCpuLimits(*r.cpu)) used.push_back("cpu");
  if (r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty())) used.push_back("cpuset");
  if (r.pids) used.push_back("pids");
  if (r.block_io) used.push_back("blkio");
  if (!r.hugepage_limits.empty()) used.push_back("hugetlb");
  for (const auto& [key, value] : r.unified) {
    std::string prefix = key.substr(0, key.find('.'));
    if (prefix != "cgroup") used.push_back(prefix == "blkio" ? "io" : prefix);
  }
  return used;
}

// Controllers the unified hierarchy's ancestors of the container must pass down: on pure v2
// every one available (so that later updates and stats find their files), on hybrid hosts only
// those the resources need from it (hugetlb here), to leave the shared v2 tree alone otherwise.
std::vector<std::string> UnifiedControllersToEnable(const CgroupLayout& layout,
                                                    const std::string& path,
                                                    const oci::Resources* resources) {
  if (layout.mode == CgroupLayout::Mode::kV2) return layout.unified_controllers;
  std::vector<std::string> wanted;
  if (!resources) return wanted;
  for (const std::string& controller : ControllersUsed(*resources)) {
    auto dir = LocateController(layout, path, controller);
    if (dir && dir->v2) wanted.push_back(controller == "blkio" ? "io" : controller);
  }
  return wanted;
}

// Enables `controllers` in the subtree_control of the unified mount and of every ancestor of
// the container below it.
void EnableUnifiedAncestors(const CgroupLayout& layout, const std::string& path,
                            const std::vector<std::string>& controllers) {
  if (layout.unified_mount.empty() || controllers.empty()) return;
  std::string dir = layout.unified_mount;
  for (const std::string& component : Split(path.substr(1), '/')) {
    v2::EnableSubtreeControllers(dir, controllers);
    dir += "/" + component;
  }
}

Result<ControllerDir> Require(const CgroupLayout& layout, const std::string& path,
                              std::string_view controller, std::string_view field) {
  auto dir = LocateController(layout, path, controller);
  if (!dir)
    return Fail(ENOTSUP, std::string(field) + ": the " + std::string(controller) +
                             " cgroup controller is not available on this host");
  return *dir;
}

// Device rules go to the v1 devices cgroup where there is one, else into an eBPF program on the
// cgroup v2 directory. The config's own rules must be enforced; the default policy of a config
// without rules is applied wherever a mechanism exists (a program needs a real cgroup2
// directory: not the case on a host without one, or for the fake trees of unit tests).
Result<void> ApplyDeviceRules(const CgroupLayout& layout, const std::string& path,
                              const std::vector<oci::DeviceCgroupRule>& rules) {
  DeviceControl control = ChooseDeviceControl(layout, path);
  if (rules.empty() && (control.kind == DeviceControl::Kind::kNone ||
                        (control.kind == DeviceControl::Kind::kBpfProgram &&
                         !linux::IsCgroup2Directory(control.dir)))) {
    log::Debug("no device cgroup to apply the default device policy to");
    return {};
  }
  switch (control.kind) {
    case DeviceControl::Kind::kV1Files:
      return v1::ApplyDevices(control.dir, rules);
    case DeviceControl::Kind::kBpfProgram:
      return v2::ApplyDevices(control.dir, rules);
    case DeviceControl::Kind::kNone:
      break;
  }
  return Fail(ENOTSUP,
              "linux.resources.devices: the host has neither a v1 devices cgroup nor a "
              "cgroup v2 hierarchy to enforce device rules with");
}

Result<void> ApplyResources(const CgroupLayout& layout, const std::string& path,
                            const oci::Resources& r) {
  if (r.memory && HasMemoryLimits(*r.memory)) {
    ControllerDir dir = TRY(Require(layout, path, "memory", "linux.resources.memory"));
    TRY(dir.v2 ? v2::ApplyMemory(dir.path, *r.memory) : v1::ApplyMemory(dir.path, *r.memory));
  }
  if (r.cpu && HasCpuLimits(*r.cpu)) {
    ControllerDir dir = TRY(Require(layout, path, "cpu", "linux.resources.cpu"));
    TRY(dir.v2 ? v2::ApplyCpu(dir.path, *r.cpu) : v1::ApplyCpu(dir.path, *r.cpu));
  }
  if (r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty())) {
    ControllerDir dir = TRY(Require(layout, path, "cpuset", "linux.resources.cpu.cpus/mems"));
    TRY(dir.v2 ? v2::ApplyCpuset(dir.path, *r.cpu) : v1::ApplyCpuset(dir.path, *r.cpu));
  }
  if (r.pids) {
    ControllerDir dir = TRY(Require(layout, path, "pids", "linux.resources.pids"));
    TRY(dir.v2 ? v2::ApplyPids(dir.path, *r.pids) : v1::ApplyPids(dir.path, *r.pids));
  }
  if (r.block_io) {
    ControllerDir dir = TRY(Require(layout, path, "blkio", "linux.resources.blockIO"));
    TRY(dir.v2 ? v2::ApplyIo(dir.path, *r.block_io) : v1::ApplyBlkio(dir.path, *r.block_io));
  }
  if (!r.hugepage_limits.empty()) {
    ControllerDir dir = TRY(Require(layout, path, "hugetlb", "linux.resources.hugepageLimits"));
    TRY(dir.v2 ? v2::ApplyHugetlb(dir.path, r.hugepage_limits)
               : v1::ApplyHugetlb(dir.path, r.hugepage_limits));
  }
  if (r.network && r.network->class_id) {
    ControllerDir dir = TRY(Require(layout, path, "net_cls", "linux.resources.network.classID"));
    if (dir.v2) return Fail("linux.resources.network.classID: net_cls does not exist on cgroup v2");
    TRY(v1::ApplyNetCls(dir.path, *r.network->class_id));
  }
  if (r.network && !r.network->priorities.empty()) {
    ControllerDir dir =
        TRY(Require(layout, path, "net_prio", "linux.resources.network.priorities"));
    if (dir.v2)
      return Fail("linux.resources.network.priorities: net_prio does not exist on cgroup v2");
    TRY(v1::ApplyNetPrio(dir.path, r.network->priorities));
  }
  if (!r.devices.empty()) TRY(ApplyDeviceRules(layout, path, r.devices));
  if (!r.unified.empty()) {
    if (layout.unified_mount.empty())
      return Fail("linux.resources.unified: the host has no cgroup v2 hierarchy");
    TRY(v2::ApplyUnified(layout.unified_mount + path, r.unified));
  }
  return {};
}

// rmdir with a short retry on EBUSY: processes that have just exited leave their cgroup a
// moment later. A missing directory counts as removed.
Result<void> RemoveCgroupDir(const std::string& dir, Clock::time_point deadline) {
  while (true) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY || Clock::now() >= deadline) return FailErrno("rmdir " + Quote(dir));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// `dir` and every cgroup below it, deepest first.
void CollectPostOrder(const std::string& dir, std::vector<std::string>* out) {
  auto children = linux::ListCgroupChildren(dir);
  if (children)
    for (const std::string& child : *children) CollectPostOrder(dir + "/" + child, out);
  out->push_back(dir);
}

void CollectPids(const std::string& dir, std::vector<pid_t>* out) {
  auto pids = linux::ReadCgroupProcs(dir);
  if (pids) out->insert(out->end(), pids->begin(), pids->end());
  auto children = linux::ListCgroupChildren(dir);
  if (children)
    for (const std::string& child : *children) CollectPids(dir + "/" + child, out);
}

// The processes of cgroup `dir` and of every cgroup below it (unsorted). `dir` itself must be
// readable; cgroups below it may vanish while we walk.
Result<std::vector<pid_t>> ProcessesBelow(const std::string& dir) {
  std::vector<pid_t> pids = TRY(linux::ReadCgroupProcs(dir));
  auto children = linux::ListCgroupChildren(dir);
  if (children)
    for (const std::string& child : *children) CollectPids(dir + "/" + child, &pids);
  return pids;
}

}  // namespace

Result<void> WriteResource(const std::string& dir, std::string_view file, std::string_view value,
                           std::string_view field) {
  Result<void> written = linux::WriteCgroupFile(dir + "/" + std::string(file), value);
  if (!written) return tl::unexpected(std::move(written).error().Wrap(std::string(field)));
  return {};
}

Result<Cgroup> Cgroup::Create(const CgroupLayout& layout, const std::string& cgroups_path,
                              const std::string& id, const oci::Resources* resources,
                              bool systemd) {
  TRY(CheckSystemd(systemd));
  Cgroup cgroup;
  cgroup.layout_ = layout;
  cgroup.path_ = TRY(NormaliseCgroupPath(cgroups_path, id));
  cgroup.dirs_ = BuildDirs(layout, cgroup.path_);
  const std::string context = "create cgroup " + Quote(cgroup.path_);
  // A cgroup that already has processes belongs to something else (another container): sharing
  // it would apply our limits to it and let our delete remove it (runc 1.2 refuses too).
  // An existing empty one, prepared by a manager, is fine. It may exist in some hierarchies
  // only, and every one is checked before any is changed: one access() per hierarchy finds
  // where it exists (usually nowhere), and only those are read.
  for (const CgroupMountPoint& dir : cgroup.dirs_) {
    if (!linux::Exists(dir.host_path)) continue;
    auto pids = ProcessesBelow(dir.host_path);
    if (pids && !pids->empty())
      return Fail(EBUSY, "linux.cgroupsPath: cgroup " + Quote(cgroup.path_) + " already has " +
                             std::to_string(pids->size()) + " process(es) (e.g. pid " +
                             std::to_string(pids->front()) + " in " + Quote(dir.host_path) +
                             "): it belongs to another container; give each container its own");
  }

  // Every directory this call made, in creation order; removed again on any failure.
  std::vector<std::string> created;
  Defer rollback([&created] {
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
      Result<void> removed = RemoveCgroupDir(*it, deadline);
      if (!removed) log::Warning("undo cgroup creation: " + removed.error().ToString());
    }
  });

  std::vector<std::string> components = Split(cgroup.path_.substr(1), '/');
  auto make_path = [&](const std::string& mount, bool inherit_cpuset) -> Result<void> {
    std::string dir = mount;
    for (const std::string& component : components) {
      dir += "/" + component;
      if (::mkdir(dir.c_str(), 0755) == 0) {
        created.push_back(dir);
      } else if (errno != EEXIST) {
        return FailErrno("mkdir " + Quote(dir));
      }
      if (inherit_cpuset) TRY(v1::InheritCpuset(dir));
    }
    return {};
  };
  for (const auto& [mount, controllers] : layout.v1_hierarchies) {
    bool cpuset = std::find(controllers.begin(), controllers.end(), "cpuset") != controllers.end();
    TRY_CTX(make_path(mount, cpuset), context);
  }
  if (!layout.unified_mount.empty()) {
    TRY_CTX(make_path(layout.unified_mount, false), context);
    EnableUnifiedAncestors(layout, cgroup.path_,
                           UnifiedControllersToEnable(layout, cgroup.path_, resources));
  }
  if (resources) TRY(ApplyResources(layout, cgroup.path_, *resources));
  // Without rules of its own a container still gets runc's policy: only the default devices
  // (null, zero, full, tty, random, urandom, ptmx, pts), none of the host's others.
  if (!resources || resources->devices.empty())
    TRY(ApplyDeviceRules(layout, cgroup.path_, {}));
  rollback.Cancel();
  return cgroup;
}

Result<Cgroup> Cgroup::Open(const CgroupLayout& layout, const std::string& cgroups_path,
                            const std::string& id, bool systemd) {
  TRY(CheckSystemd(systemd));
  Cgroup cgroup;
  cgroup.layout_ = layout;
  cgroup.path_ = TRY(NormaliseCgroupPath(cgroups_path, id));
  cgroup.dirs_ = BuildDirs(layout, cgroup.path_);
  return cgroup;
}

Result<void> Cgroup::AddProcess(pid_t pid) const {
  for (const CgroupMountPoint& dir : dirs_)
    TRY_CTX(linux::WriteCgroupFile(dir.host_path + "/cgroup.procs", std::to_string(pid)),
            "add process " + std::to_string(pid) + " to cgroup " + Quote(path_));
  return {};
}

Result<void> Cgroup::Update(const oci::Resources& resources) const {
  if (layout_.mode == CgroupLayout::Mode::kHybrid)
    EnableUnifiedAncestors(layout_, path_, UnifiedControllersToEnable(layout_, path_, &resources));
  return ApplyResources(layout_, path_, resources);
}

Result<void> Cgroup::Freeze() const {
  if (auto dir = LocateController(layout_, path_, "freezer"); dir && !dir->v2)
    return v1::Freeze(dir->path);
  if (!layout_.unified_mount.empty()) return v2::Freeze(layout_.unified_mount + path_);
  return Fail(ENOTSUP, "freeze: the host has no freezer cgroup");
}

Result<void> Cgroup::Thaw() const {
  if (auto dir = LocateController(layout_, path_, "freezer"); dir && !dir->v2)
    return v1::Thaw(dir->path);
  if (!layout_.unified_mount.empty()) return v2::Thaw(layout_.unified_mount + path_);
  return Fail(ENOTSUP, "thaw: the host has no freezer cgroup");
}

Result<bool> Cgroup::IsFrozen() const {
  if (auto dir = LocateController(layout_, path_, "freezer"); dir && !dir->v2)
    return v1::IsFrozen(dir->path);
  if (!layout_.unified_mount.empty()) return v2::IsFrozen(layout_.unified_mount + path_);
  return false;
}

Result<std::vector<pid_t>> Cgroup::Pids() const {
  std::string dir;
  for (const char* controller : {"pids", "freezer"}) {
    auto located = LocateController(layout_, path_, controller);
    if (located && !located->v2) {
      dir = located->path;
      break;
    }
  }
  if (dir.empty() && !layout_.unified_mount.empty()) dir = layout_.unified_mount + path_;
  if (dir.empty() && !dirs_.empty()) dir = dirs_.front().host_path;
  if (dir.empty()) return Fail(ENOENT, "cgroup " + Quote(path_) + ": no hierarchy");
  // The container's own directory must exist.
  std::vector<pid_t> pids = TRY_CTX(ProcessesBelow(dir), "list cgroup processes");
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

Result<void> Cgroup::Destroy() const {
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  Result<void> first_error;
  for (const CgroupMountPoint& mount_point : dirs_) {
    std::vector<std::string> dirs;
    CollectPostOrder(mount_point.host_path, &dirs);
    for (const std::string& dir : dirs) {
      Result<void> removed = RemoveCgroupDir(dir, deadline);
      // Keep going so that one busy hierarchy does not leave the others behind.
      if (!removed && first_error) first_error = std::move(removed);
    }
  }
  if (!first_error)
    return tl::unexpected(std::move(first_error).error().Wrap("remove cgroup " + Quote(path_)));
  return {};
}

std::vector<CgroupMountPoint> Cgroup::MountPoints() const { return dirs_; }

}  // namespace hull::container
