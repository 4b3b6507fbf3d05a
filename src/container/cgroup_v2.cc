// cgroup v2 control files: one tree for all controllers. Used on pure v2 hosts, and for the
// controllers that only the unified hierarchy offers on hybrid hosts.
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "base/log.h"
#include "base/strings.h"
#include "container/cgroup_internal.h"
#include "linux/cgroupfs.h"
#include "linux/file.h"

namespace hull::container {

uint64_t CpuSharesToWeight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t BlkioWeightToIoWeight(uint64_t weight) {
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + ((weight - 10) * 9999) / 990;
}

Result<std::optional<std::string>> SwapToV2SwapMax(int64_t swap, std::optional<int64_t> limit) {
  if (swap == 0) return std::optional<std::string>();
  if (swap < 0) return std::optional<std::string>("max");
  if (!limit || *limit <= 0)
    return Fail(
        "linux.resources.memory.swap: limiting swap needs a memory limit "
        "(the spec's swap counts memory+swap)");
  if (*limit > swap)
    return Fail("linux.resources.memory.swap: memory+swap (" + std::to_string(swap) +
                ") is below linux.resources.memory.limit (" + std::to_string(*limit) + ")");
  return std::optional<std::string>(std::to_string(swap - *limit));
}

namespace v2 {

namespace {

std::string MaxOr(int64_t value) { return value < 0 ? "max" : std::to_string(value); }

std::string Device(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

Result<void> WriteIoMax(const std::string& dir, const std::vector<oci::ThrottleDevice>& devices,
                        const char* key, const char* field) {
  for (const oci::ThrottleDevice& device : devices)
    TRY(WriteResource(
        dir, "io.max",
        Device(device.major, device.minor) + " " + key + "=" + std::to_string(device.rate), field));
  return {};
}

// Polls cgroup.events until its "frozen" key equals `want`.
Result<bool> WaitFrozen(const std::string& dir, uint64_t want) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  auto delay = std::chrono::microseconds(500);
  while (true) {
    std::string events = TRY(linux::ReadCgroupFile(dir + "/cgroup.events"));
    auto keys = linux::ParseFlatKeyed(events);
    if (keys.count("frozen") && keys["frozen"] == want) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::microseconds(20000));
  }
}

}  // namespace

Result<void> ApplyMemory(const std::string& dir, const oci::MemoryResources& m) {
  if (m.limit)
    TRY(WriteResource(dir, "memory.max", MaxOr(*m.limit), "linux.resources.memory.limit"));
  if (m.reservation)
    TRY(WriteResource(dir, "memory.low", MaxOr(*m.reservation),
                      "linux.resources.memory.reservation"));
  if (m.swap) {
    std::optional<int64_t> limit = m.limit;
    if (!limit) {
      // `update` may change swap alone: take the limit in force.
      std::string current =
          TRY_CTX(linux::ReadCgroupFile(dir + "/memory.max"), "linux.resources.memory.swap");
      limit = current == "max" ? -1 : ParseInt(Trim(current)).value_or(-1);
    }
    std::optional<std::string> swap_max = TRY(SwapToV2SwapMax(*m.swap, limit));
    if (swap_max)
      TRY(WriteResource(dir, "memory.swap.max", *swap_max, "linux.resources.memory.swap"));
  }
  if (m.swappiness)
    log::Warning(
        "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness; "
        "ignored");
  if (m.disable_oom_killer && *m.disable_oom_killer)
    log::Warning(
        "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM "
        "killer; ignored");
  if (m.kernel || m.kernel_tcp)
    log::Debug(
        "linux.resources.memory.kernel/kernelTCP: no separate kernel memory limits on "
        "cgroup v2; ignored");
  return {};
}

Result<void> ApplyCpu(const std::string& dir, const oci::CpuResources& cpu) {
  if (cpu.shares && *cpu.shares != 0)
    TRY(WriteResource(dir, "cpu.weight", std::to_string(CpuSharesToWeight(*cpu.shares)),
                      "linux.resources.cpu.shares"));
  if (cpu.quota || cpu.period) {
    // cpu.max is "QUOTA PERIOD"; a field left out keeps its current value.
    std::string quota = "max", period = "100000";
    if (!cpu.quota || !cpu.period) {
      std::string current =
          TRY_CTX(linux::ReadCgroupFile(dir + "/cpu.max"),
                  cpu.quota ? "linux.resources.cpu.quota" : "linux.resources.cpu.period");
      std::vector<std::string> parts = Split(Trim(current), ' ');
      if (parts.size() == 2) {
        quota = parts[0];
        period = parts[1];
      }
    }
    if (cpu.quota) quota = MaxOr(*cpu.quota);
    if (cpu.period) period = std::to_string(*cpu.period);
    TRY(WriteResource(dir, "cpu.max", quota + " " + period,
                      cpu.quota ? "linux.resources.cpu.quota" : "linux.resources.cpu.period"));
  }
  if (cpu.burst)
    TRY(WriteResource(dir, "cpu.max.burst", std::to_string(*cpu.burst),
                      "linux.resources.cpu.burst"));
  if (cpu.idle)
    TRY(WriteResource(dir, "cpu.idle", std::to_string(*cpu.idle), "linux.resources.cpu.idle"));
  if ((cpu.realtime_runtime && *cpu.realtime_runtime != 0) ||
      (cpu.realtime_period && *cpu.realtime_period != 0))
    return Fail(
        "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no "
        "real-time CPU limits");
  return {};
}

Result<void> ApplyCpuset(const std::string& dir, const oci::CpuResources& cpu) {
  if (!cpu.cpus.empty())
    TRY(WriteResource(dir, "cpuset.cpus", cpu.cpus, "linux.resources.cpu.cpus"));
  if (!cpu.mems.empty())
    TRY(WriteResource(dir, "cpuset.mems", cpu.mems, "linux.resources.cpu.mems"));
  return {};
}

Result<void> ApplyPids(const std::string& dir, const oci::PidsResources& pids) {
  std::string value = pids.limit > 0 ? std::to_string(pids.limit) : "max";
  return WriteResource(dir, "pids.max", value, "linux.resources.pids.limit");
}

Result<void> ApplyIo(const std::string& dir, const oci::BlockIoResources& io) {
  // With BFQ, io.bfq.weight takes blkio's 1..1000 scale; otherwise io.weight its own 1..10000.
  bool bfq = linux::Exists(dir + "/io.bfq.weight");
  if (io.weight)
    TRY(WriteResource(dir, bfq ? "io.bfq.weight" : "io.weight",
                      std::to_string(bfq ? *io.weight : BlkioWeightToIoWeight(*io.weight)),
                      "linux.resources.blockIO.weight"));
  if (io.leaf_weight)
    log::Debug("linux.resources.blockIO.leafWeight: no leaf weights on cgroup v2; ignored");
  for (const oci::WeightDevice& device : io.weight_device) {
    if (!device.weight) continue;
    uint64_t weight = bfq ? *device.weight : BlkioWeightToIoWeight(*device.weight);
    TRY(WriteResource(dir, bfq ? "io.bfq.weight" : "io.weight",
                      Device(device.major, device.minor) + " " + std::to_string(weight),
                      "linux.resources.blockIO.weightDevice"));
  }
  TRY(WriteIoMax(dir, io.throttle_read_bps_device, "rbps",
                 "linux.resources.blockIO.throttleReadBpsDevice"));
  TRY(WriteIoMax(dir, io.throttle_write_bps_device, "wbps",
                 "linux.resources.blockIO.throttleWriteBpsDevice"));
  TRY(WriteIoMax(dir, io.throttle_read_iops_device, "riops",
                 "linux.resources.blockIO.throttleReadIOPSDevice"));
  TRY(WriteIoMax(dir, io.throttle_write_iops_device, "wiops",
                 "linux.resources.blockIO.throttleWriteIOPSDevice"));
  return {};
}

Result<void> ApplyHugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
  for (const oci::HugepageLimit& limit : limits)
    TRY(WriteResource(dir, "hugetlb." + limit.page_size + ".max", std::to_string(limit.limit),
                      "linux.resources.hugepageLimits[" + limit.page_size + "]"));
  return {};
}

Result<void> ApplyUnified(const std::string& dir, const std::map<std::string, std::string>& files) {
  for (const auto& [key, value] : files) {
    if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos ||
        key == ".")
      return Fail("linux.resources.unified: key " + Quote(key) +
                  " is not a control file name (no '/' or \"..\" allowed)");
  }
  for (const auto& [key, value] : files)
    TRY(WriteResource(dir, key, value, "linux.resources.unified[" + Quote(key) + "]"));
  return {};
}

void EnableSubtreeControllers(const std::string& dir, const std::vector<std::string>& controllers) {
  auto available = linux::ReadCgroupFile(dir + "/cgroup.controllers");
  auto enabled = linux::ReadCgroupFile(dir + "/cgroup.subtree_control");
  if (!available || !enabled) return;  // the mkdir below reports a missing directory
  std::vector<std::string> have = Split(Trim(*available), ' ');
  std::vector<std::string> on = Split(Trim(*enabled), ' ');
  for (const std::string& controller : controllers) {
    if (std::find(have.begin(), have.end(), controller) == have.end()) continue;
    if (std::find(on.begin(), on.end(), controller) != on.end()) continue;
    // One write per controller: the kernel rejects a multi-controller write as a whole.
    Result<void> written =
        linux::WriteCgroupFile(dir + "/cgroup.subtree_control", "+" + controller);
    if (!written)
      log::Debug("enable cgroup controller " + controller + ": " + written.error().ToString());
  }
}

Result<void> Freeze(const std::string& dir) {
  TRY(linux::WriteCgroupFile(dir + "/cgroup.freeze", "1"));
  if (TRY(WaitFrozen(dir, 1))) return {};
  Result<void> thawed = linux::WriteCgroupFile(dir + "/cgroup.freeze", "0");
  if (!thawed) log::Warning("thaw after a failed freeze: " + thawed.error().ToString());
  return Fail(EBUSY, "freeze " + Quote(dir) + ": not frozen after 5s");
}

Result<void> Thaw(const std::string& dir) {
  // Thawing takes effect at once; a frozen ancestor would keep it frozen, which IsFrozen() shows.
  return linux::WriteCgroupFile(dir + "/cgroup.freeze", "0");
}

Result<bool> IsFrozen(const std::string& dir) {
  std::string events = TRY(linux::ReadCgroupFile(dir + "/cgroup.events"));
  auto keys = linux::ParseFlatKeyed(events);
  return keys.count("frozen") && keys["frozen"] == 1;
}

}  // namespace v2
}  // namespace hull::container
