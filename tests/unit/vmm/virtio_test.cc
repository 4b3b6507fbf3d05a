// virtio-mmio transport, split virtqueues, virtio-rng and virtio-blk against a fake driver over
// plain memory, including the malformed queues a hostile guest can build.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "linux/file.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/devices/virtio/mmio.h"
#include "vmm/devices/virtio/rng.h"

namespace hull::vmm::virtio {
namespace {

using memory::GuestMemory;

class FakeInterrupt : public devices::Interrupt {
 public:
  void SetLevel(bool high) override { level = high; }
  bool level = false;
};

struct Segment {
  uint64_t address;
  uint32_t length;
  bool writable;
};

// A virtio driver reduced to what the tests need, over 1 MiB of plain memory.
class FakeDriver {
 public:
  static constexpr uint64_t kDescriptors = 0x1000, kDriverRing = 0x2000, kDeviceRing = 0x3000;
  static constexpr uint16_t kQueueSize = 16;

  explicit FakeDriver(std::unique_ptr<VirtioDevice> device)
      : ram_(1 << 20, 0),
        memory_(GuestMemory::FromHost({{0, ram_.size(), ram_.data()}})),
        transport_(std::move(device), memory_, interrupt_) {}

  uint32_t Read(uint64_t offset) {
    uint32_t value = 0;
    transport_.Read(offset, std::span(reinterpret_cast<uint8_t*>(&value), 4));
    return value;
  }
  void Write(uint64_t offset, uint32_t value) {
    transport_.Write(offset, std::span(reinterpret_cast<const uint8_t*>(&value), 4));
  }

  // The driver initialisation sequence of the virtio spec, accepting `features`.
  void Initialize(uint64_t features = kFeatureVersion1) {
    Write(MmioTransport::kStatus, 0);
    Write(MmioTransport::kStatus, MmioTransport::kStatusAcknowledge | MmioTransport::kStatusDriver);
    Write(MmioTransport::kDriverFeaturesSel, 0);
    Write(MmioTransport::kDriverFeatures, static_cast<uint32_t>(features));
    Write(MmioTransport::kDriverFeaturesSel, 1);
    Write(MmioTransport::kDriverFeatures, static_cast<uint32_t>(features >> 32));
    Write(MmioTransport::kStatus, MmioTransport::kStatusAcknowledge | MmioTransport::kStatusDriver |
                                      MmioTransport::kStatusFeaturesOk);
    Write(MmioTransport::kQueueSel, 0);
    Write(MmioTransport::kQueueNum, kQueueSize);
    Write(MmioTransport::kQueueDescLow, kDescriptors);
    Write(MmioTransport::kQueueDriverLow, kDriverRing);
    Write(MmioTransport::kQueueDeviceLow, kDeviceRing);
    Write(MmioTransport::kQueueReady, 1);
    Write(MmioTransport::kStatus, Read(MmioTransport::kStatus) | MmioTransport::kStatusDriverOk);
  }

  void PutDescriptor(uint16_t index, Descriptor d) {
    std::memcpy(ram_.data() + kDescriptors + 16 * index, &d, sizeof(d));
  }
  // Publishes a chain starting at descriptor `head` (already written) in the driver ring.
  void Publish(uint16_t head) {
    uint16_t index;
    std::memcpy(&index, ram_.data() + kDriverRing + 2, 2);
    std::memcpy(ram_.data() + kDriverRing + 4 + 2 * (index % kQueueSize), &head, 2);
    ++index;
    std::memcpy(ram_.data() + kDriverRing + 2, &index, 2);
  }
  // Writes a chain of `segments` from descriptor `first` and publishes it.
  uint16_t Submit(const std::vector<Segment>& segments, uint16_t first = 0) {
    for (size_t i = 0; i < segments.size(); ++i) {
      uint16_t flags = (segments[i].writable ? kDescriptorWrite : 0) |
                       (i + 1 < segments.size() ? kDescriptorNext : 0);
      PutDescriptor(static_cast<uint16_t>(first + i),
                    {segments[i].address, segments[i].length, flags, static_cast<uint16_t>(first + i + 1)});
    }
    Publish(first);
    return first;
  }
  void Notify() { Write(MmioTransport::kQueueNotify, 0); }

  uint16_t UsedIndex() {
    uint16_t index;
    std::memcpy(&index, ram_.data() + kDeviceRing + 2, 2);
    return index;
  }
  std::pair<uint32_t, uint32_t> Used(uint16_t slot) {
    uint32_t element[2];
    std::memcpy(element, ram_.data() + kDeviceRing + 4 + 8 * (slot % kQueueSize), 8);
    return {element[0], element[1]};
  }

  std::vector<uint8_t> ram_;
  FakeInterrupt interrupt_;
  GuestMemory memory_;
  MmioTransport transport_;
};

TEST(VmmVirtioMmio, IdentifiesAsAModernDevice) {
  FakeDriver driver(std::make_unique<Rng>());
  EXPECT_EQ(driver.Read(MmioTransport::kMagicValue), 0x74726976u);
  EXPECT_EQ(driver.Read(MmioTransport::kVersionReg), 2u);
  EXPECT_EQ(driver.Read(MmioTransport::kDeviceId), Rng::kDeviceType);
  driver.Write(MmioTransport::kDeviceFeaturesSel, 1);
  EXPECT_EQ(driver.Read(MmioTransport::kDeviceFeatures) & 1, 1u) << "VIRTIO_F_VERSION_1";
  EXPECT_EQ(driver.Read(MmioTransport::kQueueNumMax), Queue::kMaxSize);
  driver.Write(MmioTransport::kQueueSel, 5);
  EXPECT_EQ(driver.Read(MmioTransport::kQueueNumMax), 0u) << "no such queue";
}

TEST(VmmVirtioMmio, FeaturesOkRequiresVersion1AndOfferedBitsOnly) {
  FakeDriver driver(std::make_unique<Rng>());
  driver.Initialize(/*features=*/0);
  EXPECT_FALSE(driver.Read(MmioTransport::kStatus) & MmioTransport::kStatusFeaturesOk);
  driver.Initialize(kFeatureVersion1 | (1ULL << 40));
  EXPECT_FALSE(driver.Read(MmioTransport::kStatus) & MmioTransport::kStatusFeaturesOk);
  driver.Initialize();
  EXPECT_TRUE(driver.Read(MmioTransport::kStatus) & MmioTransport::kStatusFeaturesOk);
  EXPECT_TRUE(driver.Read(MmioTransport::kStatus) & MmioTransport::kStatusDriverOk);
}

TEST(VmmVirtioMmio, BadQueueLayoutIsRefused) {
  FakeDriver driver(std::make_unique<Rng>());
  driver.Write(MmioTransport::kQueueSel, 0);
  driver.Write(MmioTransport::kQueueNum, 3);  // not a power of two
  driver.Write(MmioTransport::kQueueReady, 1);
  EXPECT_EQ(driver.Read(MmioTransport::kQueueReady), 0u);
  driver.Write(MmioTransport::kStatus, 0);
  driver.Write(MmioTransport::kQueueNum, 16);
  driver.Write(MmioTransport::kQueueDescLow, 0xfff00000);  // outside RAM
  driver.Write(MmioTransport::kQueueReady, 1);
  EXPECT_EQ(driver.Read(MmioTransport::kQueueReady), 0u);
}

TEST(VmmVirtioRng, FillsWritableBuffersAndInterrupts) {
  FakeDriver driver(std::make_unique<Rng>());
  driver.Initialize();
  driver.Submit({{0x10000, 64, true}});
  driver.Notify();
  ASSERT_EQ(driver.UsedIndex(), 1);
  EXPECT_EQ(driver.Used(0), std::make_pair(0u, 64u));
  EXPECT_TRUE(driver.interrupt_.level);
  EXPECT_EQ(driver.Read(MmioTransport::kInterruptStatus), MmioTransport::kInterruptUsedBuffer);
  driver.Write(MmioTransport::kInterruptAck, MmioTransport::kInterruptUsedBuffer);
  EXPECT_FALSE(driver.interrupt_.level);
  int nonzero = 0;
  for (int i = 0; i < 64; ++i) nonzero += driver.ram_[0x10000 + i] != 0;
  EXPECT_GT(nonzero, 40);
}

TEST(VmmVirtioRng, StatusZeroResetsTheDevice) {
  FakeDriver driver(std::make_unique<Rng>());
  driver.Initialize();
  driver.Write(MmioTransport::kStatus, 0);
  EXPECT_EQ(driver.Read(MmioTransport::kStatus), 0u);
  driver.Write(MmioTransport::kQueueSel, 0);
  EXPECT_EQ(driver.Read(MmioTransport::kQueueReady), 0u);
  driver.Submit({{0x10000, 64, true}});
  driver.Notify();
  EXPECT_EQ(driver.UsedIndex(), 0) << "no processing before DRIVER_OK";
}

// Malformed queues: each bad chain is completed with length 0 (or skipped when the ring itself
// is broken); the device keeps working and nothing crashes.
TEST(VmmVirtioQueue, MalformedChainsAreFailedNotFatal) {
  FakeDriver driver(std::make_unique<Rng>());
  driver.Initialize();
  // 1: a loop.
  driver.PutDescriptor(0, {0x10000, 16, kDescriptorWrite | kDescriptorNext, 1});
  driver.PutDescriptor(1, {0x10010, 16, kDescriptorWrite | kDescriptorNext, 0});
  driver.Publish(0);
  // 2: a buffer outside RAM.
  driver.PutDescriptor(2, {0xfffffffff000, 16, kDescriptorWrite, 0});
  driver.Publish(2);
  // 3: a next index beyond the table.
  driver.PutDescriptor(3, {0x10000, 16, kDescriptorWrite | kDescriptorNext, 999});
  driver.Publish(3);
  // 4: readable after writable.
  driver.PutDescriptor(4, {0x10000, 16, kDescriptorWrite | kDescriptorNext, 5});
  driver.PutDescriptor(5, {0x10010, 16, 0, 0});
  driver.Publish(4);
  // 5: a head index beyond the table.
  driver.Publish(200);
  // 6: a buffer that wraps the address space.
  driver.PutDescriptor(6, {UINT64_MAX - 8, 16, kDescriptorWrite, 0});
  driver.Publish(6);
  // 7: indirect descriptors (not negotiated).
  driver.PutDescriptor(7, {0x10000, 16, kDescriptorIndirect, 0});
  driver.Publish(7);
  // 8: finally a good one.
  driver.PutDescriptor(8, {0x10100, 8, kDescriptorWrite, 0});
  driver.Publish(8);
  driver.Notify();
  ASSERT_EQ(driver.UsedIndex(), 8);
  for (uint16_t slot = 0; slot < 7; ++slot) EXPECT_EQ(driver.Used(slot).second, 0u) << slot;
  EXPECT_EQ(driver.Used(7), std::make_pair(8u, 8u));
}

TEST(VmmVirtioQueue, RingIndexRunningAheadIsRejected) {
  FakeDriver driver(std::make_unique<Rng>());
  driver.Initialize();
  uint16_t bogus = 1000;  // more than the queue size ahead of the device
  std::memcpy(driver.ram_.data() + FakeDriver::kDriverRing + 2, &bogus, 2);
  driver.Notify();
  EXPECT_EQ(driver.UsedIndex(), 0);
}

TEST(VmmVirtioQueue, BuffersSpanningSeveralDescriptors) {
  std::vector<uint8_t> ram(0x1000, 0);
  GuestMemory memory = GuestMemory::FromHost({{0, ram.size(), ram.data()}});
  std::vector<Buffer> buffers = {{0x100, 3, true}, {0x200, 5, true}};
  const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7};
  ASSERT_TRUE(WriteToBuffers(memory, buffers, 1, data));
  EXPECT_EQ(ram[0x101], 1);
  EXPECT_EQ(ram[0x102], 2);
  EXPECT_EQ(ram[0x200], 3);
  EXPECT_EQ(ram[0x204], 7);
  uint8_t out[8];
  EXPECT_FALSE(ReadFromBuffers(memory, buffers, 1, out)) << "only 7 bytes from offset 1";
}

class VmmVirtioBlock : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hull-vmm-blk-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    image_.resize(64 * 512);
    for (size_t i = 0; i < image_.size(); ++i) image_[i] = static_cast<char>(i / 512);
    ASSERT_TRUE(linux::WriteFile(dir_ + "/disk.img", image_));
  }
  void TearDown() override { (void)linux::RemoveAll(dir_); }

  std::unique_ptr<FakeDriver> Driver(bool read_only = false) {
    auto block = Block::Open(dir_ + "/disk.img", read_only);
    EXPECT_TRUE(block) << block.error().ToString();
    auto driver = std::make_unique<FakeDriver>(std::move(*block));
    driver->Initialize();
    return driver;
  }
  // Submits header {type, sector}, a data buffer and the status byte; returns the status.
  uint8_t Request(FakeDriver& d, uint32_t type, uint64_t sector, uint32_t data_length,
                  bool device_writes) {
    struct {
      uint32_t type, reserved;
      uint64_t sector;
    } header{type, 0, sector};
    std::memcpy(d.ram_.data() + 0x10000, &header, sizeof(header));
    d.ram_[0x30000] = 0xaa;
    std::vector<Segment> chain = {{0x10000, 16, false}};
    if (data_length) chain.push_back({0x20000, data_length, device_writes});
    chain.push_back({0x30000, 1, true});
    d.Submit(chain);
    d.Notify();
    return d.ram_[0x30000];
  }

  std::string dir_;
  std::string image_;
};

TEST_F(VmmVirtioBlock, ConfigReportsCapacity) {
  auto d = Driver();
  EXPECT_EQ(d->Read(MmioTransport::kDeviceId), Block::kDeviceType);
  EXPECT_EQ(d->Read(MmioTransport::kConfig), 64u) << "capacity in sectors";
  EXPECT_EQ(d->Read(MmioTransport::kConfig + 4), 0u);
}

TEST_F(VmmVirtioBlock, ReadsAndWritesSectors) {
  auto d = Driver();
  EXPECT_EQ(Request(*d, Block::kTypeIn, 3, 1024, true), Block::kStatusOk);
  EXPECT_EQ(d->ram_[0x20000], 3);
  EXPECT_EQ(d->ram_[0x20000 + 600], 4);
  EXPECT_EQ(d->Used(0).second, 1025u) << "data plus status byte";
  std::memset(d->ram_.data() + 0x20000, 0x5a, 512);
  EXPECT_EQ(Request(*d, Block::kTypeOut, 10, 512, false), Block::kStatusOk);
  EXPECT_EQ(Request(*d, Block::kTypeFlush, 0, 0, false), Block::kStatusOk);
  std::string after = linux::ReadFile(dir_ + "/disk.img").value_or("");
  EXPECT_EQ(after[10 * 512], 0x5a);
  EXPECT_EQ(after[10 * 512 + 511], 0x5a);
  EXPECT_EQ(after[11 * 512], 11);
}

TEST_F(VmmVirtioBlock, RejectsOutOfRangeAndWrongDirectionRequests) {
  auto d = Driver();
  EXPECT_EQ(Request(*d, Block::kTypeIn, 63, 1024, true), Block::kStatusIoError) << "past the end";
  EXPECT_EQ(Request(*d, Block::kTypeIn, UINT64_MAX / 256, 512, true), Block::kStatusIoError);
  EXPECT_EQ(Request(*d, Block::kTypeIn, 0, 512, false), Block::kStatusIoError) << "readable data for IN";
  EXPECT_EQ(Request(*d, Block::kTypeOut, 0, 512, true), Block::kStatusIoError) << "writable data for OUT";
  EXPECT_EQ(Request(*d, 77, 0, 0, false), Block::kStatusUnsupported);
  EXPECT_EQ(linux::ReadFile(dir_ + "/disk.img").value_or(""), image_) << "disk unchanged";
}

TEST_F(VmmVirtioBlock, ReadOnlyDiskRefusesWrites) {
  auto d = Driver(/*read_only=*/true);
  d->Write(MmioTransport::kDeviceFeaturesSel, 0);
  EXPECT_TRUE(d->Read(MmioTransport::kDeviceFeatures) & Block::kFeatureReadOnly);
  EXPECT_EQ(Request(*d, Block::kTypeOut, 0, 512, false), Block::kStatusIoError);
  EXPECT_EQ(Request(*d, Block::kTypeIn, 0, 512, true), Block::kStatusOk);
  EXPECT_EQ(linux::ReadFile(dir_ + "/disk.img").value_or(""), image_);
}

TEST_F(VmmVirtioBlock, GetIdDiscardAndWriteZeroes) {
  auto d = Driver();
  EXPECT_EQ(Request(*d, Block::kTypeGetId, 0, 20, true), Block::kStatusOk);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(d->ram_.data() + 0x20000), 5), "hull-");
  struct {
    uint64_t sector;
    uint32_t sectors, flags;
  } segment{4, 2, 0};
  std::memcpy(d->ram_.data() + 0x20000, &segment, sizeof(segment));
  EXPECT_EQ(Request(*d, Block::kTypeWriteZeroes, 0, 16, false), Block::kStatusOk);
  std::string after = linux::ReadFile(dir_ + "/disk.img").value_or("");
  EXPECT_EQ(after[4 * 512], 0);
  EXPECT_EQ(after[6 * 512 - 1], 0);
  EXPECT_EQ(after[6 * 512], 6);
  segment = {60, 100, 0};  // past the end
  std::memcpy(d->ram_.data() + 0x20000, &segment, sizeof(segment));
  EXPECT_EQ(Request(*d, Block::kTypeDiscard, 0, 16, false), Block::kStatusIoError);
}

TEST_F(VmmVirtioBlock, RequestWithoutStatusByteIsDropped) {
  auto d = Driver();
  d->Submit({{0x10000, 8, false}});  // a short header and no writable status
  d->Notify();
  ASSERT_EQ(d->UsedIndex(), 1);
  EXPECT_EQ(d->Used(0).second, 0u);
}

TEST(VmmVirtioBlockOpen, MissingOrUnwritableDiskNamesThePath) {
  auto missing = Block::Open("/nonexistent/disk.img", false);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().ToString().find("/nonexistent/disk.img"), std::string::npos);
  auto directory = Block::Open("/tmp", true);
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().ToString().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace hull::vmm::virtio
