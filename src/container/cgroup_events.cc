// runc's `events` JSON: stats events for a CgroupStats, and out-of-memory events.
#include <nlohmann/json.hpp>

#include "container/cgroup.h"

namespace hull::container {

namespace {

nlohmann::json BlkioEntries(const std::vector<CgroupStats::BlkioEntry>& entries) {
  nlohmann::json out = nlohmann::json::array();
  for (const CgroupStats::BlkioEntry& entry : entries)
    out.push_back(
        {{"major", entry.major}, {"minor", entry.minor}, {"op", entry.op}, {"value", entry.value}});
  return out;
}

}  // namespace

std::string FormatStatsEvent(const std::string& id, const CgroupStats& stats) {
  nlohmann::json hugetlb = nlohmann::json::object();
  for (const auto& [page_size, usage] : stats.hugetlb_usage)
    hugetlb[page_size] = {{"usage", usage}, {"max", 0}, {"failcnt", 0}};
  nlohmann::json raw = nlohmann::json::object();
  for (const auto& [key, value] : stats.memory_raw) raw[key] = value;

  nlohmann::json data = {
      {"cpu",
       {{"usage",
         {{"total", stats.cpu_usage_total},
          {"percpu", stats.cpu_usage_percpu},
          {"kernel", stats.cpu_usage_kernel},
          {"user", stats.cpu_usage_user}}},
        {"throttling",
         {{"periods", stats.cpu_throttling_periods},
          {"throttledPeriods", stats.cpu_throttled_periods},
          {"throttledTime", stats.cpu_throttled_time}}}}},
      {"memory",
       {{"usage",
         {{"limit", stats.memory_limit},
          {"usage", stats.memory_usage},
          {"max", stats.memory_max_usage},
          {"failcnt", stats.memory_failcnt}}},
        {"swap",
         {{"limit", stats.swap_limit}, {"usage", stats.swap_usage}, {"max", 0}, {"failcnt", 0}}},
        {"raw", raw}}},
      {"pids", {{"current", stats.pids_current}, {"limit", stats.pids_limit}}},
      {"blkio",
       {{"ioServiceBytesRecursive", BlkioEntries(stats.io_service_bytes)},
        {"ioServicedRecursive", BlkioEntries(stats.io_serviced)}}},
      {"hugetlb", hugetlb},
  };
  nlohmann::json event = {{"type", "stats"}, {"id", id}, {"data", data}};
  return event.dump();
}

std::string FormatOomEvent(const std::string& id) {
  // Field order as runc's encoder writes it.
  return "{\"type\":\"oom\",\"id\":" + nlohmann::json(id).dump() + "}";
}

}  // namespace hull::container
