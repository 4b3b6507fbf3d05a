// Stats parsing and the shape of runc's stats event.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "container/cgroup.h"
#include "container/cgroup_internal.h"

namespace hull::container {
namespace {

TEST(CgroupStatsTest, ParsesBlkioThrottleFiles) {
  auto entries = ParseBlkioStat("8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].major, 8u);
  EXPECT_EQ(entries[0].minor, 0u);
  EXPECT_EQ(entries[0].op, "Read");
  EXPECT_EQ(entries[0].value, 4096u);
  EXPECT_EQ(entries[2].op, "Total");
}

TEST(CgroupStatsTest, ParsesIoStat) {
  std::vector<CgroupStats::BlkioEntry> bytes, ops;
  ParseIoStat("259:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n", &bytes, &ops);
  ASSERT_EQ(bytes.size(), 2u);
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(bytes[0].major, 259u);
  EXPECT_EQ(bytes[1].op, "Write");
  EXPECT_EQ(bytes[1].value, 200u);
  EXPECT_EQ(ops[0].value, 3u);
}

TEST(CgroupStatsTest, EventHasRuncsShape) {
  CgroupStats stats;
  stats.cpu_usage_total = 5000;
  stats.cpu_usage_percpu = {2000, 3000};
  stats.cpu_usage_user = 4000;
  stats.cpu_usage_kernel = 1000;
  stats.cpu_throttled_periods = 2;
  stats.memory_usage = 1 << 20;
  stats.memory_limit = 64 << 20;
  stats.memory_raw = {{"cache", 4096}, {"rss", 8192}};
  stats.swap_usage = 7;
  stats.pids_current = 3;
  stats.io_service_bytes = {{8, 0, "Read", 4096}};
  stats.hugetlb_usage = {{"2MB", 2097152}};

  nlohmann::json event = nlohmann::json::parse(FormatStatsEvent("c1", stats));
  EXPECT_EQ(event["type"], "stats");
  EXPECT_EQ(event["id"], "c1");
  const nlohmann::json& data = event["data"];
  EXPECT_EQ(data["cpu"]["usage"]["total"], 5000);
  EXPECT_EQ(data["cpu"]["usage"]["percpu"], nlohmann::json::array({2000, 3000}));
  EXPECT_EQ(data["cpu"]["usage"]["user"], 4000);
  EXPECT_EQ(data["cpu"]["usage"]["kernel"], 1000);
  EXPECT_EQ(data["cpu"]["throttling"]["throttledPeriods"], 2);
  EXPECT_TRUE(data["cpu"]["throttling"].contains("periods"));
  EXPECT_TRUE(data["cpu"]["throttling"].contains("throttledTime"));
  EXPECT_EQ(data["memory"]["usage"]["usage"], 1 << 20);
  EXPECT_EQ(data["memory"]["usage"]["limit"], 64 << 20);
  EXPECT_TRUE(data["memory"]["usage"].contains("max"));
  EXPECT_TRUE(data["memory"]["usage"].contains("failcnt"));
  EXPECT_EQ(data["memory"]["swap"]["usage"], 7);
  EXPECT_EQ(data["memory"]["raw"]["rss"], 8192);
  EXPECT_EQ(data["pids"]["current"], 3);
  EXPECT_EQ(data["pids"]["limit"], 0);
  const nlohmann::json& bytes = data["blkio"]["ioServiceBytesRecursive"];
  ASSERT_EQ(bytes.size(), 1u);
  EXPECT_EQ(bytes[0]["major"], 8);
  EXPECT_EQ(bytes[0]["minor"], 0);
  EXPECT_EQ(bytes[0]["op"], "Read");
  EXPECT_EQ(bytes[0]["value"], 4096);
  EXPECT_TRUE(data["blkio"]["ioServicedRecursive"].is_array());
  EXPECT_EQ(data["hugetlb"]["2MB"]["usage"], 2097152);
}

TEST(CgroupStatsTest, EmptyStatsStillHaveEveryGroup) {
  nlohmann::json data = nlohmann::json::parse(FormatStatsEvent("x", {}))["data"];
  for (const char* key : {"cpu", "memory", "pids", "blkio", "hugetlb"})
    EXPECT_TRUE(data.contains(key)) << key;
  EXPECT_TRUE(data["cpu"]["usage"]["percpu"].is_array());
  EXPECT_TRUE(data["hugetlb"].is_object());
}

}  // namespace
}  // namespace hull::container
