// GuestMemory: layout around the MMIO gap and bounds checks on guest-controlled addresses.
#include "vmm/memory/guest_memory.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace hull::vmm::memory {
namespace {

TEST(VmmGuestMemory, SmallMemoryIsOneRegionFromZero) {
  auto ranges = RamRanges(256 * kMiB);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], std::make_pair(uint64_t{0}, 256 * kMiB));
}

TEST(VmmGuestMemory, LargeMemorySplitsAroundTheMmioGap) {
  auto ranges = RamRanges(5 * kGiB);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], std::make_pair(uint64_t{0}, kMmioGapStart));
  EXPECT_EQ(ranges[1], std::make_pair(kMmioGapEnd, 5 * kGiB - kMmioGapStart));
}

TEST(VmmGuestMemory, CreateMapsTheSplitLayout) {
  // MAP_NORESERVE: 5 GiB of address space costs nothing until touched.
  auto memory = GuestMemory::Create({.size = 5 * kGiB});
  ASSERT_TRUE(memory) << memory.error().ToString();
  ASSERT_EQ(memory->regions().size(), 2u);
  EXPECT_EQ(memory->size(), 5 * kGiB);
  ASSERT_TRUE(memory->WriteObject<uint32_t>(kMmioGapEnd + 16, 0xabcd1234));
  EXPECT_EQ(*memory->ReadObject<uint32_t>(kMmioGapEnd + 16), 0xabcd1234u);
  EXPECT_FALSE(memory->Translate(kMmioGapStart, 1)) << "the gap is not RAM";
  EXPECT_FALSE(memory->ReadObject<uint8_t>(kMmioGapStart + 4096));
}

// KVM maps guest RAM with 2 MiB nested pages only where host and guest addresses agree modulo
// 2 MiB: every region's host mapping starts 2 MiB-aligned, anonymous or memfd, and its guest
// address is too.
TEST(VmmGuestMemory, HostMappingsAreHugePageAligned) {
  for (bool memfd : {false, true}) {
    auto memory = GuestMemory::Create({.size = 3 * kGiB + 6 * kMiB, .memfd = memfd});
    ASSERT_TRUE(memory) << memory.error().ToString();
    ASSERT_EQ(memory->regions().size(), 2u);
    for (const Region& r : memory->regions()) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(r.host) % kHostAlignment, 0u) << "memfd " << memfd;
      EXPECT_EQ(r.guest_address % kHostAlignment, 0u);
    }
    ASSERT_TRUE(memory->WriteObject<uint64_t>(kMmioGapEnd + 6 * kMiB - 8, 42));
    EXPECT_EQ(*memory->ReadObject<uint64_t>(kMmioGapEnd + 6 * kMiB - 8), 42u);
  }
}

TEST(VmmGuestMemory, MemfdBacking) {
  auto memory = GuestMemory::Create({.size = 8 * kMiB, .memfd = true});
  ASSERT_TRUE(memory) << memory.error().ToString();
  EXPECT_GE(memory->memfd(), 0);
  ASSERT_TRUE(memory->WriteObject<uint64_t>(8 * kMiB - 8, 42));
  EXPECT_EQ(*memory->ReadObject<uint64_t>(8 * kMiB - 8), 42u);
}

TEST(VmmGuestMemory, RejectsBadSizes) {
  EXPECT_FALSE(GuestMemory::Create({.size = 0}));
  EXPECT_FALSE(GuestMemory::Create({.size = 4097}));
  EXPECT_FALSE(GuestMemory::Create({.size = 3 * kMiB, .hugepages = true}));
}

// HugePages_Free from /proc/meminfo (pages of the default 2 MiB size).
uint64_t FreeHugePages() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("HugePages_Free:", 0) == 0) return std::stoull(line.substr(15));
  }
  return 0;
}

// Huge pages come from the host's reserved pool. Asking for more than it holds must be an error
// that says so, at creation: a mapping that only fails when touched kills the VMM with SIGBUS.
void CheckHugePages(bool memfd) {
  constexpr uint64_t kSize = 16 * kMiB;
  bool enough = FreeHugePages() >= kSize / (2 * kMiB);
  auto memory = GuestMemory::Create({.size = kSize, .memfd = memfd, .hugepages = true});
  if (!enough) {
    ASSERT_FALSE(memory) << "created without reserved huge pages; the first write would SIGBUS";
    std::string message = memory.error().ToString();
    EXPECT_NE(message.find("16 MiB of 2 MiB huge pages"), std::string::npos) << message;
    EXPECT_NE(message.find("/proc/sys/vm/nr_hugepages"), std::string::npos) << message;
    return;
  }
  ASSERT_TRUE(memory) << memory.error().ToString();
  ASSERT_TRUE(memory->Fill(0, kSize, 0x5a));  // every page is really there
  EXPECT_EQ(*memory->ReadObject<uint8_t>(kSize - 1), 0x5a);
}

TEST(VmmGuestMemory, AnonymousHugePagesNeedAReservation) { CheckHugePages(/*memfd=*/false); }
TEST(VmmGuestMemory, MemfdHugePagesNeedAReservation) { CheckHugePages(/*memfd=*/true); }

class VmmGuestMemoryBounds : public ::testing::Test {
 protected:
  // Two regions over plain buffers with a hole between them, as device tests use.
  std::vector<uint8_t> low_ = std::vector<uint8_t>(4096, 0);
  std::vector<uint8_t> high_ = std::vector<uint8_t>(4096, 0);
  GuestMemory memory_ =
      GuestMemory::FromHost({{0, low_.size(), low_.data()}, {0x10000, high_.size(), high_.data()}});
};

TEST_F(VmmGuestMemoryBounds, OutOfRangeAccessesFailWithoutTouchingMemory) {
  std::array<uint8_t, 16> buffer{};
  EXPECT_FALSE(memory_.Read(4096, buffer));
  EXPECT_FALSE(memory_.Read(4090, buffer)) << "crosses the end of the first region into a hole";
  EXPECT_FALSE(memory_.Write(0x10000 + 4090, buffer));
  EXPECT_FALSE(memory_.Read(UINT64_MAX - 4, buffer)) << "wraps around";
  EXPECT_FALSE(memory_.Translate(UINT64_MAX, 2));
  EXPECT_FALSE(memory_.Translate(0, 4097));
  EXPECT_FALSE(memory_.Fill(0x8000, 1, 0));
  EXPECT_EQ(high_[4090], 0) << "a failed write must not write a partial prefix beyond RAM";
}

TEST_F(VmmGuestMemoryBounds, ErrorsNameTheAddress) {
  auto r = memory_.ReadObject<uint32_t>(0x9000);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("0x9000"), std::string::npos) << r.error().ToString();
}

TEST_F(VmmGuestMemoryBounds, InRangeAccesses) {
  ASSERT_TRUE(memory_.WriteObject<uint16_t>(4094, 0xbeef));
  EXPECT_EQ(low_[4094], 0xef);
  EXPECT_EQ(low_[4095], 0xbe);
  auto host = memory_.Translate(0x10000 + 100, 10);
  ASSERT_TRUE(host);
  EXPECT_EQ(*host, high_.data() + 100);
}

}  // namespace
}  // namespace hull::vmm::memory
