// cgroup v1 control files: one hierarchy per controller (or per group of controllers).
#include <time.h>

#include <chrono>
#include <string>
#include <thread>

#include "base/log.h"
#include "base/strings.h"
#include "container/cgroup_internal.h"
#include "container/device_filter.h"
#include "linux/cgroupfs.h"
#include "linux/file.h"

namespace hull::container::v1 {

namespace {

std::string Device(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

std::string Parent(const std::string& dir) { return dir.substr(0, dir.find_last_of('/')); }

std::string DeviceRule(const oci::DeviceCgroupRule& rule) {
  std::string type = rule.type.empty() ? "a" : rule.type;
  // Absent or -1: any number (as the v2 device program reads them).
  std::string major = rule.major && *rule.major != -1 ? std::to_string(*rule.major) : "*";
  std::string minor = rule.minor && *rule.minor != -1 ? std::to_string(*rule.minor) : "*";
  std::string access = rule.access.empty() ? "rwm" : rule.access;
  return type + " " + major + ":" + minor + " " + access;
}

Result<void> WriteThrottle(const std::string& dir, const std::vector<oci::ThrottleDevice>& devices,
                           const char* file, const char* field) {
  for (const oci::ThrottleDevice& device : devices)
    TRY(WriteResource(
        dir, file, Device(device.major, device.minor) + " " + std::to_string(device.rate), field));
  return {};
}

}  // namespace

Result<void> ApplyMemory(const std::string& dir, const oci::MemoryResources& m) {
  const std::string memsw_file = dir + "/memory.memsw.limit_in_bytes";
  // Without swap accounting there is no memsw file; "unlimited" then needs no write.
  bool write_swap = m.swap && !(*m.swap == -1 && !linux::Exists(memsw_file));
  auto write_limit = [&]() -> Result<void> {
    return WriteResource(dir, "memory.limit_in_bytes", std::to_string(*m.limit),
                         "linux.resources.memory.limit");
  };
  auto write_swap_limit = [&]() -> Result<void> {
    return WriteResource(dir, "memory.memsw.limit_in_bytes", std::to_string(*m.swap),
                         "linux.resources.memory.swap");
  };
  if (m.limit && write_swap) {
    // The kernel keeps limit <= memsw at every moment: when the new limit exceeds the current
    // memsw limit, memsw must grow first; otherwise the limit must shrink first.
    auto current_memsw = linux::ReadCgroupUint(memsw_file);
    bool raising =
        *m.limit < 0 || (current_memsw && static_cast<uint64_t>(*m.limit) > *current_memsw);
    if (raising) {
      TRY(write_swap_limit());
      TRY(write_limit());
    } else {
      TRY(write_limit());
      TRY(write_swap_limit());
    }
  } else if (m.limit) {
    TRY(write_limit());
  } else if (write_swap) {
    TRY(write_swap_limit());
  }
  if (m.reservation)
    TRY(WriteResource(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation),
                      "linux.resources.memory.reservation"));
  if (m.kernel)
    log::Debug("linux.resources.memory.kernel: kernel memory limits are deprecated; ignored");
  if (m.kernel_tcp)
    TRY(WriteResource(dir, "memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernel_tcp),
                      "linux.resources.memory.kernelTCP"));
  if (m.swappiness)
    TRY(WriteResource(dir, "memory.swappiness", std::to_string(*m.swappiness),
                      "linux.resources.memory.swappiness"));
  if (m.disable_oom_killer)
    TRY(WriteResource(dir, "memory.oom_control", *m.disable_oom_killer ? "1" : "0",
                      "linux.resources.memory.disableOOMKiller"));
  if (m.use_hierarchy)
    TRY(WriteResource(dir, "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0",
                      "linux.resources.memory.useHierarchy"));
  return {};
}

Result<void> ApplyCpu(const std::string& dir, const oci::CpuResources& cpu) {
  if (cpu.shares)
    TRY(WriteResource(dir, "cpu.shares", std::to_string(*cpu.shares),
                      "linux.resources.cpu.shares"));
  auto write_period = [&] {
    return WriteResource(dir, "cpu.cfs_period_us", std::to_string(*cpu.period),
                         "linux.resources.cpu.period");
  };
  auto write_quota = [&] {
    return WriteResource(dir, "cpu.cfs_quota_us", std::to_string(*cpu.quota),
                         "linux.resources.cpu.quota");
  };
  if (cpu.period && cpu.quota) {
    // The kernel checks quota against period on each write; a new period may only fit the new
    // quota, so on EINVAL the quota goes first.
    Result<void> period = write_period();
    if (!period && period.error().code() == EINVAL) {
      TRY(write_quota());
      TRY(write_period());
    } else {
      TRY(std::move(period));
      TRY(write_quota());
    }
  } else if (cpu.period) {
    TRY(write_period());
  } else if (cpu.quota) {
    TRY(write_quota());
  }
  if (cpu.burst)
    TRY(WriteResource(dir, "cpu.cfs_burst_us", std::to_string(*cpu.burst),
                      "linux.resources.cpu.burst"));
  if (cpu.realtime_period)
    TRY(WriteResource(dir, "cpu.rt_period_us", std::to_string(*cpu.realtime_period),
                      "linux.resources.cpu.realtimePeriod"));
  if (cpu.realtime_runtime)
    TRY(WriteResource(dir, "cpu.rt_runtime_us", std::to_string(*cpu.realtime_runtime),
                      "linux.resources.cpu.realtimeRuntime"));
  if (cpu.idle)
    TRY(WriteResource(dir, "cpu.idle", std::to_string(*cpu.idle), "linux.resources.cpu.idle"));
  return {};
}

Result<void> ApplyCpuset(const std::string& dir, const oci::CpuResources& cpu) {
  if (!cpu.cpus.empty())
    TRY(WriteResource(dir, "cpuset.cpus", cpu.cpus, "linux.resources.cpu.cpus"));
  if (!cpu.mems.empty())
    TRY(WriteResource(dir, "cpuset.mems", cpu.mems, "linux.resources.cpu.mems"));
  return {};
}

Result<void> InheritCpuset(const std::string& dir) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    std::string own = TRY(linux::ReadCgroupFile(dir + "/" + file));
    if (!Trim(own).empty()) continue;
    std::string parent = TRY(linux::ReadCgroupFile(Parent(dir) + "/" + file));
    if (Trim(parent).empty()) continue;  // an empty parent has nothing to give
    TRY(linux::WriteCgroupFile(dir + "/" + file, Trim(parent)));
  }
  return {};
}

Result<void> ApplyPids(const std::string& dir, const oci::PidsResources& pids) {
  std::string value = pids.limit > 0 ? std::to_string(pids.limit) : "max";
  return WriteResource(dir, "pids.max", value, "linux.resources.pids.limit");
}

Result<void> ApplyBlkio(const std::string& dir, const oci::BlockIoResources& io) {
  // Kernels with BFQ name the proportional weight files blkio.bfq.*.
  bool bfq = !linux::Exists(dir + "/blkio.weight") && linux::Exists(dir + "/blkio.bfq.weight");
  const char* weight_file = bfq ? "blkio.bfq.weight" : "blkio.weight";
  const char* weight_device_file = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
  if (io.weight)
    TRY(WriteResource(dir, weight_file, std::to_string(*io.weight),
                      "linux.resources.blockIO.weight"));
  if (io.leaf_weight)
    TRY(WriteResource(dir, "blkio.leaf_weight", std::to_string(*io.leaf_weight),
                      "linux.resources.blockIO.leafWeight"));
  for (const oci::WeightDevice& device : io.weight_device) {
    if (device.weight)
      TRY(WriteResource(dir, weight_device_file,
                        Device(device.major, device.minor) + " " + std::to_string(*device.weight),
                        "linux.resources.blockIO.weightDevice"));
    if (device.leaf_weight)
      TRY(WriteResource(
          dir, "blkio.leaf_weight_device",
          Device(device.major, device.minor) + " " + std::to_string(*device.leaf_weight),
          "linux.resources.blockIO.weightDevice"));
  }
  TRY(WriteThrottle(dir, io.throttle_read_bps_device, "blkio.throttle.read_bps_device",
                    "linux.resources.blockIO.throttleReadBpsDevice"));
  TRY(WriteThrottle(dir, io.throttle_write_bps_device, "blkio.throttle.write_bps_device",
                    "linux.resources.blockIO.throttleWriteBpsDevice"));
  TRY(WriteThrottle(dir, io.throttle_read_iops_device, "blkio.throttle.read_iops_device",
                    "linux.resources.blockIO.throttleReadIOPSDevice"));
  TRY(WriteThrottle(dir, io.throttle_write_iops_device, "blkio.throttle.write_iops_device",
                    "linux.resources.blockIO.throttleWriteIOPSDevice"));
  return {};
}

Result<void> ApplyHugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
  for (const oci::HugepageLimit& limit : limits)
    TRY(WriteResource(dir, "hugetlb." + limit.page_size + ".limit_in_bytes",
                      std::to_string(limit.limit),
                      "linux.resources.hugepageLimits[" + limit.page_size + "]"));
  return {};
}

Result<void> ApplyDevices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules) {
  TRY(WriteResource(dir, "devices.deny", "a", "linux.resources.devices"));
  for (size_t i = 0; i < rules.size(); ++i) {
    const oci::DeviceCgroupRule& rule = rules[i];
    TRY(WriteResource(dir, rule.allow ? "devices.allow" : "devices.deny", DeviceRule(rule),
                      "linux.resources.devices[" + std::to_string(i) + "]"));
  }
  for (const oci::DeviceCgroupRule& rule : DefaultDeviceRules())
    TRY(WriteResource(dir, "devices.allow", DeviceRule(rule),
                      "linux.resources.devices (default devices)"));
  return {};
}

Result<void> ApplyNetCls(const std::string& dir, uint32_t class_id) {
  return WriteResource(dir, "net_cls.classid", std::to_string(class_id),
                       "linux.resources.network.classID");
}

Result<void> ApplyNetPrio(const std::string& dir,
                          const std::vector<oci::NetworkPriority>& priorities) {
  for (const oci::NetworkPriority& priority : priorities)
    TRY(WriteResource(dir, "net_prio.ifpriomap",
                      priority.name + " " + std::to_string(priority.priority),
                      "linux.resources.network.priorities"));
  return {};
}

Result<void> Freeze(const std::string& dir) {
  const std::string state_file = dir + "/freezer.state";
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  auto delay = std::chrono::microseconds(500);
  while (true) {
    // Writing FROZEN again nudges tasks that were busy when the previous write came.
    TRY(linux::WriteCgroupFile(state_file, "FROZEN"));
    std::string state = TRY(linux::ReadCgroupFile(state_file));
    if (Trim(state) == "FROZEN") return {};
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::microseconds(20000));
  }
  Result<void> thawed = linux::WriteCgroupFile(state_file, "THAWED");
  if (!thawed) log::Warning("thaw after a failed freeze: " + thawed.error().ToString());
  return Fail(EBUSY, "freeze " + Quote(dir) + ": tasks still FREEZING after 5s");
}

Result<void> Thaw(const std::string& dir) {
  return linux::WriteCgroupFile(dir + "/freezer.state", "THAWED");
}

Result<bool> IsFrozen(const std::string& dir) {
  std::string state = TRY(linux::ReadCgroupFile(dir + "/freezer.state"));
  return Trim(state) == "FROZEN";
}

}  // namespace hull::container::v1
