// Reading a container's statistics (`events --stats`) from v1 and v2 control files. A figure
// whose file is missing (controller absent, swap accounting off) stays 0.
#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <memory>

#include "base/strings.h"
#include "container/cgroup.h"
#include "container/cgroup_internal.h"
#include "linux/cgroupfs.h"
#include "linux/file.h"

namespace hull::container {

namespace {

uint64_t ReadUintOrZero(const std::string& path) {
  auto value = linux::ReadCgroupUint(path);
  return value ? *value : 0;
}

// A limit file holding a number or "max"; "max" becomes `unlimited`.
uint64_t ReadLimit(const std::string& path, uint64_t unlimited) {
  auto text = linux::ReadCgroupFile(path);
  if (!text) return 0;
  if (Trim(*text) == "max") return unlimited;
  return ParseUint(Trim(*text)).value_or(0);
}

std::map<std::string, uint64_t> ReadFlatKeyed(const std::string& path) {
  auto text = linux::ReadCgroupFile(path);
  return text ? linux::ParseFlatKeyed(*text) : std::map<std::string, uint64_t>{};
}

uint64_t Get(const std::map<std::string, uint64_t>& keys, const std::string& key) {
  auto it = keys.find(key);
  return it == keys.end() ? 0 : it->second;
}

void ReadV1Cpuacct(const std::string& dir, CgroupStats* stats) {
  stats->cpu_usage_total = ReadUintOrZero(dir + "/cpuacct.usage");
  if (auto percpu = linux::ReadCgroupFile(dir + "/cpuacct.usage_percpu")) {
    for (const std::string& field : Split(Trim(*percpu), ' '))
      if (auto value = ParseUint(field)) stats->cpu_usage_percpu.push_back(*value);
  }
  // cpuacct.stat counts USER_HZ ticks.
  auto ticks = ReadFlatKeyed(dir + "/cpuacct.stat");
  long hz = ::sysconf(_SC_CLK_TCK);
  uint64_t ns_per_tick = hz > 0 ? 1000000000ULL / static_cast<uint64_t>(hz) : 10000000ULL;
  stats->cpu_usage_user = Get(ticks, "user") * ns_per_tick;
  stats->cpu_usage_kernel = Get(ticks, "system") * ns_per_tick;
}

void ReadV1CpuThrottling(const std::string& dir, CgroupStats* stats) {
  auto keys = ReadFlatKeyed(dir + "/cpu.stat");
  stats->cpu_throttling_periods = Get(keys, "nr_periods");
  stats->cpu_throttled_periods = Get(keys, "nr_throttled");
  stats->cpu_throttled_time = Get(keys, "throttled_time");  // ns
}

void ReadV2Cpu(const std::string& dir, CgroupStats* stats) {
  auto keys = ReadFlatKeyed(dir + "/cpu.stat");  // microseconds
  stats->cpu_usage_total = Get(keys, "usage_usec") * 1000;
  stats->cpu_usage_user = Get(keys, "user_usec") * 1000;
  stats->cpu_usage_kernel = Get(keys, "system_usec") * 1000;
  stats->cpu_throttling_periods = Get(keys, "nr_periods");
  stats->cpu_throttled_periods = Get(keys, "nr_throttled");
  stats->cpu_throttled_time = Get(keys, "throttled_usec") * 1000;
}

void ReadV1Memory(const std::string& dir, CgroupStats* stats) {
  stats->memory_usage = ReadUintOrZero(dir + "/memory.usage_in_bytes");
  stats->memory_max_usage = ReadUintOrZero(dir + "/memory.max_usage_in_bytes");
  stats->memory_limit = ReadUintOrZero(dir + "/memory.limit_in_bytes");
  stats->memory_failcnt = ReadUintOrZero(dir + "/memory.failcnt");
  // v1 counts swap as memory+swap (memsw), as the spec's memory.swap does.
  stats->swap_usage = ReadUintOrZero(dir + "/memory.memsw.usage_in_bytes");
  stats->swap_limit = ReadUintOrZero(dir + "/memory.memsw.limit_in_bytes");
  stats->memory_raw = ReadFlatKeyed(dir + "/memory.stat");
}

void ReadV2Memory(const std::string& dir, CgroupStats* stats) {
  stats->memory_usage = ReadUintOrZero(dir + "/memory.current");
  stats->memory_max_usage = ReadUintOrZero(dir + "/memory.peak");  // kernel 5.19+
  stats->memory_limit = ReadLimit(dir + "/memory.max", UINT64_MAX);
  stats->memory_failcnt = Get(ReadFlatKeyed(dir + "/memory.events"), "max");
  // v2 counts swap alone.
  stats->swap_usage = ReadUintOrZero(dir + "/memory.swap.current");
  stats->swap_limit = ReadLimit(dir + "/memory.swap.max", UINT64_MAX);
  stats->memory_raw = ReadFlatKeyed(dir + "/memory.stat");
}

std::string ReadFirstExisting(const std::string& dir, std::initializer_list<const char*> files) {
  for (const char* file : files) {
    if (auto text = linux::ReadCgroupFile(dir + "/" + file)) return *text;
  }
  return {};
}

// Page sizes with a usage file in `dir`: "hugetlb.2MB.usage_in_bytes" (v1) or
// "hugetlb.2MB.current" (v2); "hugetlb.2MB.rsvd.current" and the like are other counters.
void ReadHugetlb(const std::string& dir, bool v2, CgroupStats* stats) {
  std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), ::closedir);
  if (!handle) return;
  const std::string suffix = v2 ? ".current" : ".usage_in_bytes";
  while (dirent* entry = ::readdir(handle.get())) {
    std::string name = entry->d_name;
    if (!StartsWith(name, "hugetlb.") || name.size() <= 8 + suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::string size = name.substr(8, name.size() - 8 - suffix.size());
    if (size.find('.') != std::string::npos) continue;
    stats->hugetlb_usage[size] = ReadUintOrZero(dir + "/" + name);
  }
}

}  // namespace

std::vector<CgroupStats::BlkioEntry> ParseBlkioStat(std::string_view text) {
  std::vector<CgroupStats::BlkioEntry> entries;
  for (const std::string& line : Split(text, '\n')) {
    std::vector<std::string> fields = Split(Trim(line), ' ');
    if (fields.size() != 3) continue;  // "Total N" has two fields
    size_t colon = fields[0].find(':');
    if (colon == std::string::npos) continue;
    auto major = ParseUint(std::string_view(fields[0]).substr(0, colon));
    auto minor = ParseUint(std::string_view(fields[0]).substr(colon + 1));
    auto value = ParseUint(fields[2]);
    if (!major || !minor || !value) continue;
    entries.push_back({*major, *minor, fields[1], *value});
  }
  return entries;
}

void ParseIoStat(std::string_view text, std::vector<CgroupStats::BlkioEntry>* bytes,
                 std::vector<CgroupStats::BlkioEntry>* ops) {
  for (const std::string& line : Split(text, '\n')) {
    std::vector<std::string> fields = Split(Trim(line), ' ');
    if (fields.empty()) continue;
    size_t colon = fields[0].find(':');
    if (colon == std::string::npos) continue;
    auto major = ParseUint(std::string_view(fields[0]).substr(0, colon));
    auto minor = ParseUint(std::string_view(fields[0]).substr(colon + 1));
    if (!major || !minor) continue;
    std::map<std::string, uint64_t> keys;
    for (size_t i = 1; i < fields.size(); ++i) {
      size_t equals = fields[i].find('=');
      if (equals == std::string::npos) continue;
      if (auto value = ParseUint(std::string_view(fields[i]).substr(equals + 1)))
        keys[fields[i].substr(0, equals)] = *value;
    }
    bytes->push_back({*major, *minor, "Read", Get(keys, "rbytes")});
    bytes->push_back({*major, *minor, "Write", Get(keys, "wbytes")});
    ops->push_back({*major, *minor, "Read", Get(keys, "rios")});
    ops->push_back({*major, *minor, "Write", Get(keys, "wios")});
  }
}

Result<CgroupStats> Cgroup::Stats() const {
  bool exists = false;
  for (const CgroupMountPoint& dir : dirs_) exists = exists || linux::Exists(dir.host_path);
  if (!exists) return Fail(ENOENT, "read cgroup stats: cgroup " + Quote(path_) + " is missing");

  CgroupStats stats;
  auto cpuacct = LocateController(layout_, path_, "cpuacct");
  auto cpu = LocateController(layout_, path_, "cpu");
  if (cpuacct && !cpuacct->v2) ReadV1Cpuacct(cpuacct->path, &stats);
  if (cpu && !cpu->v2) {
    ReadV1CpuThrottling(cpu->path, &stats);
  } else if (!layout_.unified_mount.empty() && !(cpuacct && !cpuacct->v2)) {
    // v2's cpu.stat usage lines exist even where the cpu controller is not enabled.
    ReadV2Cpu(layout_.unified_mount + path_, &stats);
  }
  if (auto memory = LocateController(layout_, path_, "memory")) {
    if (memory->v2) {
      ReadV2Memory(memory->path, &stats);
    } else {
      ReadV1Memory(memory->path, &stats);
    }
  }
  if (auto pids = LocateController(layout_, path_, "pids")) {
    stats.pids_current = ReadUintOrZero(pids->path + "/pids.current");
    stats.pids_limit = ReadLimit(pids->path + "/pids.max", 0);
  }
  if (auto blkio = LocateController(layout_, path_, "blkio")) {
    if (blkio->v2) {
      ParseIoStat(ReadFirstExisting(blkio->path, {"io.stat"}), &stats.io_service_bytes,
                  &stats.io_serviced);
    } else {
      stats.io_service_bytes = ParseBlkioStat(ReadFirstExisting(
          blkio->path,
          {"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"}));
      stats.io_serviced = ParseBlkioStat(ReadFirstExisting(
          blkio->path, {"blkio.throttle.io_serviced_recursive", "blkio.throttle.io_serviced"}));
    }
  }
  if (auto hugetlb = LocateController(layout_, path_, "hugetlb"))
    ReadHugetlb(hugetlb->path, hugetlb->v2, &stats);
  return stats;
}

}  // namespace hull::container
