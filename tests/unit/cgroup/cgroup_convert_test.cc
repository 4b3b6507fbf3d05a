// Conversions from the spec's v1-shaped values to cgroup v2 files.
#include <gtest/gtest.h>

#include "container/cgroup_internal.h"

namespace hull::container {
namespace {

TEST(CgroupConvertTest, SharesToWeight) {
  EXPECT_EQ(CpuSharesToWeight(2), 1u);
  EXPECT_EQ(CpuSharesToWeight(1024), 39u);  // the default share is about the default weight
  EXPECT_EQ(CpuSharesToWeight(262144), 10000u);
  EXPECT_EQ(CpuSharesToWeight(1), 1u);            // below the range: clamped
  EXPECT_EQ(CpuSharesToWeight(1000000), 10000u);  // above the range: clamped
}

TEST(CgroupConvertTest, BlkioWeightToIoWeight) {
  EXPECT_EQ(BlkioWeightToIoWeight(10), 1u);
  EXPECT_EQ(BlkioWeightToIoWeight(500), 4950u);
  EXPECT_EQ(BlkioWeightToIoWeight(1000), 10000u);
}

TEST(CgroupConvertTest, SwapIsMemoryPlusSwapInTheSpec) {
  EXPECT_EQ(SwapToV2SwapMax(300, 100).value(), "200");
  EXPECT_EQ(SwapToV2SwapMax(100, 100).value(), "0");  // no swap at all
  EXPECT_EQ(SwapToV2SwapMax(-1, 100).value(), "max");
  EXPECT_EQ(SwapToV2SwapMax(-1, std::nullopt).value(), "max");
  EXPECT_EQ(SwapToV2SwapMax(0, 100).value(), std::nullopt);
}

TEST(CgroupConvertTest, SwapErrorsNameTheField) {
  for (auto [swap, limit] : std::vector<std::pair<int64_t, std::optional<int64_t>>>{
           {300, std::nullopt}, {300, -1}, {100, 300}}) {
    auto result = SwapToV2SwapMax(swap, limit);
    ASSERT_FALSE(result) << swap;
    EXPECT_EQ(result.error().ToString().rfind("linux.resources.memory.swap: ", 0), 0u)
        << result.error().ToString();
  }
}

}  // namespace
}  // namespace hull::container
