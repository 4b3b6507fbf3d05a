// virtio-mmio transport, split virtqueues, virtio-rng and virtio-blk against a fake driver over
// plain memory, including the malformed queues a hostile guest can build.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fake_driver.h"
#include "linux/file.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/devices/virtio/mmio.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/devices/virtio/rng.h"
#include "vmm/devices/virtio/vsock.h"

namespace hull::vmm::virtio {
namespace {

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
  EXPECT_FALSE(driver.NeedsReset()) << "bad chains fail requests, not the device";
  EXPECT_EQ(driver.Read(MmioTransport::kInterruptStatus), MmioTransport::kInterruptUsedBuffer);
}

// A corrupt ring (not one bad chain) cannot be trusted any more: the device says it needs a
// reset (virtio 1.x 2.1.2) with a configuration change interrupt, and works again after one.
TEST(VmmVirtioQueue, RingIndexRunningAheadNeedsAReset) {
  FakeDriver driver(std::make_unique<Rng>());
  driver.Initialize();
  driver.SetAvailIndex(1000);  // more than the queue size ahead of the device
  driver.Notify();
  EXPECT_EQ(driver.UsedIndex(), 0);
  EXPECT_TRUE(driver.NeedsReset());
  EXPECT_EQ(driver.Read(MmioTransport::kInterruptStatus), MmioTransport::kInterruptConfigChange);
  EXPECT_TRUE(driver.interrupt_.level);

  // Neither fixing the index nor rewriting the status revives it without a reset.
  driver.SetAvailIndex(0);
  driver.Submit({{0x10000, 64, true}});
  driver.Write(MmioTransport::kStatus,
               driver.Read(MmioTransport::kStatus) & ~MmioTransport::kStatusNeedsReset);
  driver.Notify();
  EXPECT_EQ(driver.UsedIndex(), 0);
  EXPECT_TRUE(driver.NeedsReset()) << "only a reset clears DEVICE_NEEDS_RESET";

  driver.Initialize();
  EXPECT_FALSE(driver.NeedsReset());
  EXPECT_FALSE(driver.interrupt_.level);
  driver.Submit({{0x10000, 64, true}});
  driver.Notify();
  ASSERT_EQ(driver.UsedIndex(), 1);
  EXPECT_EQ(driver.Used(0).second, 64u);
}

TEST(VmmVirtioQueue, EveryDeviceNeedsAResetAfterRingCorruption) {
  char pattern[] = "/tmp/hull-vmm-ring-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  std::string dir = pattern;
  ASSERT_TRUE(linux::WriteFile(dir + "/disk.img", std::string(4096, 'd')));
  std::vector<std::pair<std::string, std::unique_ptr<VirtioDevice>>> devices;
  devices.emplace_back("blk", std::move(*Block::Open(dir + "/disk.img", false)));
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  linux::UniqueFd host(fds[1]);
  devices.emplace_back("net", std::make_unique<Net>(linux::UniqueFd(fds[0]), MacAddress{6}));
  devices.emplace_back("vsock", std::move(*Vsock::Open(3, dir + "/v.sock")));
  for (auto& [name, device] : devices) {
    uint32_t queues = static_cast<uint32_t>(device->QueueCount());
    FakeDriver driver(std::move(device));
    for (uint32_t q = 0; q < queues; ++q) {
      // vsock's receive queue is read only when there is something to send (tested with the
      // vsock fixture); its event queue's buffers are kept.
      if (name == "vsock" && q != Vsock::kTransmitQueue) continue;
      driver.Initialize();
      driver.SetAvailIndex(0x8000, q);
      driver.Notify(q);
      EXPECT_TRUE(driver.NeedsReset()) << name << " queue " << q;
      EXPECT_EQ(
          driver.Read(MmioTransport::kInterruptStatus) & MmioTransport::kInterruptConfigChange,
          MmioTransport::kInterruptConfigChange)
          << name << " queue " << q;
      EXPECT_EQ(driver.transport_.PollFd(), -1) << name << " queue " << q;
    }
  }
  (void)linux::RemoveAll(dir);
}

// VIRTIO_RING_F_EVENT_IDX: the device interrupts only when the used index passes the driver's
// used_event, and after catching up publishes avail_event so the driver notifies for the next
// chain only.
TEST(VmmVirtioEventIndex, SuppressesNotificationsBothWays) {
  FakeDriver driver(std::make_unique<Rng>());
  EXPECT_TRUE(driver.Read(MmioTransport::kDeviceFeatures) & kFeatureEventIndex) << "offered";
  driver.Initialize(kFeatureVersion1 | kFeatureEventIndex);
  ASSERT_TRUE(driver.Read(MmioTransport::kStatus) & MmioTransport::kStatusDriverOk);
  auto request = [&](uint16_t descriptor) {
    driver.Submit({{0x10000 + 0x100u * descriptor, 16, true}}, descriptor);
    driver.Notify();
  };
  auto interrupted = [&] {
    bool level = driver.interrupt_.level;
    driver.Write(MmioTransport::kInterruptAck, MmioTransport::kInterruptUsedBuffer);
    return level;
  };
  driver.SetUsedEvent(1);  // interrupt once the used buffer at index 1 is there
  request(0);
  EXPECT_EQ(driver.UsedIndex(), 1);
  EXPECT_FALSE(interrupted());
  EXPECT_EQ(driver.AvailEvent(), 1) << "caught up: notify me for the next chain";
  request(1);
  EXPECT_EQ(driver.UsedIndex(), 2);
  EXPECT_TRUE(interrupted());
  // used_event in the middle of a batch; the NO_INTERRUPT flag means nothing with EVENT_IDX.
  uint16_t no_interrupt = kAvailNoInterrupt;
  std::memcpy(driver.ram_.data() + FakeDriver::kDriverRing, &no_interrupt, 2);
  driver.SetUsedEvent(3);
  driver.Submit({{0x10200, 16, true}}, 2);
  driver.Submit({{0x10300, 16, true}}, 3);
  driver.Submit({{0x10400, 16, true}}, 4);
  driver.Notify();
  EXPECT_EQ(driver.UsedIndex(), 5);
  EXPECT_TRUE(interrupted());
  EXPECT_EQ(driver.AvailEvent(), 5);
  // A used_event already passed gives no interrupt until the index wraps around to it.
  request(5);
  EXPECT_FALSE(interrupted());
}

TEST(VmmVirtioEventIndex, WithoutItTheNoInterruptFlagCounts) {
  FakeDriver driver(std::make_unique<Rng>());
  driver.Initialize();
  uint16_t no_interrupt = kAvailNoInterrupt;
  std::memcpy(driver.ram_.data() + FakeDriver::kDriverRing, &no_interrupt, 2);
  driver.Submit({{0x10000, 16, true}});
  driver.Notify();
  EXPECT_EQ(driver.UsedIndex(), 1);
  EXPECT_FALSE(driver.interrupt_.level);
  EXPECT_EQ(driver.AvailEvent(), 0) << "avail_event is not written";
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

  std::unique_ptr<FakeDriver> Driver(bool read_only = false, std::string id = "") {
    auto block = Block::Open(dir_ + "/disk.img", read_only, id);
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
  EXPECT_EQ(Request(*d, Block::kTypeIn, 0, 512, false), Block::kStatusIoError)
      << "readable data for IN";
  EXPECT_EQ(Request(*d, Block::kTypeOut, 0, 512, true), Block::kStatusIoError)
      << "writable data for OUT";
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

// virtio spec, "Device Operation" of the block device: discard with the unmap flag, and either
// request with a reserved flag bit, fail with UNSUPP; write-zeroes with unmap is fine.
TEST_F(VmmVirtioBlock, DiscardAndWriteZeroesCheckTheSegmentFlags) {
  auto d = Driver();
  struct {
    uint64_t sector;
    uint32_t sectors, flags;
  } segment;
  auto request = [&](uint32_t type, uint64_t sector, uint32_t flags) {
    segment = {sector, 1, flags};
    std::memcpy(d->ram_.data() + 0x20000, &segment, sizeof(segment));
    return Request(*d, type, 0, 16, false);
  };
  EXPECT_EQ(request(Block::kTypeDiscard, 1, Block::kSegmentUnmap), Block::kStatusUnsupported);
  EXPECT_EQ(request(Block::kTypeDiscard, 1, 2), Block::kStatusUnsupported) << "reserved bit";
  EXPECT_EQ(request(Block::kTypeDiscard, 1, 0x80000000), Block::kStatusUnsupported);
  EXPECT_EQ(request(Block::kTypeWriteZeroes, 2, 4), Block::kStatusUnsupported) << "reserved bit";
  EXPECT_EQ(linux::ReadFile(dir_ + "/disk.img").value_or(""), image_) << "nothing done";
  EXPECT_EQ(request(Block::kTypeDiscard, 1, 0), Block::kStatusOk);
  EXPECT_EQ(request(Block::kTypeWriteZeroes, 2, Block::kSegmentUnmap), Block::kStatusOk);
  EXPECT_EQ(request(Block::kTypeWriteZeroes, 3, 0), Block::kStatusOk);
  std::string after = linux::ReadFile(dir_ + "/disk.img").value_or("");
  ASSERT_EQ(after.size(), image_.size()) << "the image keeps its size";
  EXPECT_EQ(after.substr(2 * 512, 1024), std::string(1024, '\0')) << "sectors 2 and 3 read zeroes";
  EXPECT_EQ(after[4 * 512], 4);
  // More segments than announced (max_discard_seg 1), and a partial segment.
  std::memcpy(d->ram_.data() + 0x20010, &segment, sizeof(segment));
  EXPECT_EQ(Request(*d, Block::kTypeDiscard, 0, 32, false), Block::kStatusUnsupported);
  EXPECT_EQ(Request(*d, Block::kTypeDiscard, 0, 12, false), Block::kStatusIoError);
}

TEST_F(VmmVirtioBlock, DeviceIdIsTheUsersOrDerivedFromTheFile) {
  auto named = Driver(false, "data-disk-1");
  EXPECT_EQ(Request(*named, Block::kTypeGetId, 0, 20, true), Block::kStatusOk);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(named->ram_.data() + 0x20000), 20),
            std::string("data-disk-1") + std::string(9, '\0'));
  auto full = Driver(false, "abcdefghijklmnopqrst");  // exactly 20 bytes: no terminator
  EXPECT_EQ(Request(*full, Block::kTypeGetId, 0, 20, true), Block::kStatusOk);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(full->ram_.data() + 0x20000), 20),
            "abcdefghijklmnopqrst");
  auto derived = Driver();
  EXPECT_EQ(Request(*derived, Block::kTypeGetId, 0, 20, true), Block::kStatusOk);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(derived->ram_.data() + 0x20000), 5), "hull-");
  auto too_long = Block::Open(dir_ + "/disk.img", false, "abcdefghijklmnopqrstu");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().ToString().find("longer than 20 bytes"), std::string::npos)
      << too_long.error().ToString();
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

// virtio-net over a SOCK_SEQPACKET socketpair standing in for the tap: one frame per message.
class VmmVirtioNet : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    host_.reset(fds[1]);
    driver_ = std::make_unique<FakeDriver>(
        std::make_unique<Net>(linux::UniqueFd(fds[0]), MacAddress{0x06, 1, 2, 3, 4, 5}));
    driver_->Initialize();
  }
  // A frame as the backend carries it: 12-byte header then payload.
  static std::string Frame(const std::string& payload) { return std::string(12, '\0') + payload; }
  void PostReceiveBuffer(uint16_t descriptor, uint64_t address, uint32_t length) {
    driver_->Submit({{address, length, true}}, descriptor, Net::kReceiveQueue);
  }

  linux::UniqueFd host_;
  std::unique_ptr<FakeDriver> driver_;
};

TEST_F(VmmVirtioNet, ConfigHasTheMacAndLinkUp) {
  EXPECT_EQ(driver_->Read(MmioTransport::kDeviceId), Net::kDeviceType);
  uint8_t config[8];
  driver_->transport_.Read(MmioTransport::kConfig, config);
  EXPECT_EQ(std::vector<uint8_t>(config, config + 6), (std::vector<uint8_t>{0x06, 1, 2, 3, 4, 5}));
  EXPECT_EQ(config[6], 1) << "VIRTIO_NET_S_LINK_UP";
}

TEST_F(VmmVirtioNet, TransmitsFramesToTheBackend) {
  std::string frame = Frame("hello, network");
  std::memcpy(driver_->ram_.data() + 0x10000, frame.data(), 12);
  std::memcpy(driver_->ram_.data() + 0x11000, frame.data() + 12, frame.size() - 12);
  driver_->Submit(
      {{0x10000, 12, false}, {0x11000, static_cast<uint32_t>(frame.size() - 12), false}}, 0,
      Net::kTransmitQueue);
  driver_->Notify(Net::kTransmitQueue);
  EXPECT_EQ(driver_->UsedIndex(Net::kTransmitQueue), 1);
  char buffer[256];
  ssize_t n = ::read(host_.get(), buffer, sizeof(buffer));
  ASSERT_EQ(n, static_cast<ssize_t>(frame.size()));
  EXPECT_EQ(std::string(buffer, n), frame);
}

TEST_F(VmmVirtioNet, MalformedTransmitChainsSendNothing) {
  driver_->Submit({{0x10000, 4, false}}, 0, Net::kTransmitQueue);        // shorter than a header
  driver_->Submit({{0x10000, 64, true}}, 1, Net::kTransmitQueue);        // device-writable
  driver_->Submit({{0xfffffff000, 64, false}}, 2, Net::kTransmitQueue);  // outside RAM
  driver_->Notify(Net::kTransmitQueue);
  EXPECT_EQ(driver_->UsedIndex(Net::kTransmitQueue), 3);
  char buffer[16];
  EXPECT_LT(::read(host_.get(), buffer, sizeof(buffer)), 0) << "nothing reached the backend";
}

TEST_F(VmmVirtioNet, ReceivesFramesIntoPostedBuffers) {
  PostReceiveBuffer(0, 0x20000, 2048);
  driver_->Notify(Net::kReceiveQueue);
  std::string frame = Frame("incoming");
  ASSERT_EQ(::write(host_.get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  ASSERT_GE(driver_->transport_.PollFd(), 0);
  driver_->transport_.HandlePollReady();
  ASSERT_EQ(driver_->UsedIndex(Net::kReceiveQueue), 1);
  EXPECT_EQ(driver_->Used(0, Net::kReceiveQueue).second, frame.size());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(driver_->ram_.data() + 0x20000 + 12), 8),
            "incoming");
  EXPECT_EQ(driver_->ram_[0x20000 + 10], 1) << "num_buffers";
  EXPECT_TRUE(driver_->interrupt_.level);
}

TEST_F(VmmVirtioNet, FramesWaitForBuffersWithoutPolling) {
  std::string frame = Frame("early");
  ASSERT_EQ(::write(host_.get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  driver_->transport_.HandlePollReady();
  EXPECT_EQ(driver_->UsedIndex(Net::kReceiveQueue), 0);
  EXPECT_EQ(driver_->transport_.PollFd(), -1) << "no buffers: stop polling the backend";
  PostReceiveBuffer(0, 0x20000, 2048);
  PostReceiveBuffer(1, 0x21000, 2048);
  driver_->Notify(Net::kReceiveQueue);
  ASSERT_EQ(driver_->UsedIndex(Net::kReceiveQueue), 1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(driver_->ram_.data() + 0x20000 + 12), 5), "early");
  EXPECT_GE(driver_->transport_.PollFd(), 0) << "a buffer is left: poll the backend again";
}

// The guest starts the device without making the receive queue ready: a frame on the tap must
// not make the event loop spin on a readable fd nobody reads.
TEST(VmmVirtioNetSpin, ReceiveQueueNotReadyIsNotPolled) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  linux::UniqueFd host(fds[1]);
  FakeDriver driver(std::make_unique<Net>(linux::UniqueFd(fds[0]), MacAddress{6}));
  driver.Initialize(kFeatureVersion1, /*ready_queues=*/1u << Net::kTransmitQueue);
  ASSERT_TRUE(driver.Read(MmioTransport::kStatus) & MmioTransport::kStatusDriverOk);
  ASSERT_EQ(::write(host.get(), "012345678901frame", 17), 17);
  EXPECT_LE(driver.RunEventLoop(), 1);
  EXPECT_EQ(driver.transport_.PollFd(), -1);
}

// A receive ring whose index runs ahead: the device needs a reset and its tap is no longer
// polled, though frames keep arriving.
TEST_F(VmmVirtioNet, CorruptReceiveRingStopsPollingTheTap) {
  PostReceiveBuffer(0, 0x20000, 2048);
  driver_->Notify(Net::kReceiveQueue);
  driver_->SetAvailIndex(500, Net::kReceiveQueue);
  for (int i = 0; i < 3; ++i) {
    std::string frame = Frame("flood");
    ASSERT_EQ(::write(host_.get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  }
  EXPECT_LE(driver_->RunEventLoop(), 1);
  EXPECT_TRUE(driver_->NeedsReset());
  EXPECT_EQ(driver_->transport_.PollFd(), -1);
  EXPECT_EQ(driver_->Read(MmioTransport::kInterruptStatus) & MmioTransport::kInterruptConfigChange,
            MmioTransport::kInterruptConfigChange);
  // After a reset the frames still waiting on the tap are delivered.
  driver_->Initialize();
  PostReceiveBuffer(0, 0x20000, 2048);
  driver_->Notify(Net::kReceiveQueue);
  EXPECT_EQ(driver_->UsedIndex(Net::kReceiveQueue), 1);
}

TEST_F(VmmVirtioNet, EmptyReceiveQueueIsNotPolled) {
  std::string frame = Frame("nobody listens");
  ASSERT_EQ(::write(host_.get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  EXPECT_LE(driver_->RunEventLoop(), 1);
  EXPECT_EQ(driver_->transport_.PollFd(), -1);
  // Buffers the driver posts without notifying are found once it notifies.
  PostReceiveBuffer(0, 0x20000, 2048);
  PostReceiveBuffer(1, 0x21000, 2048);
  EXPECT_EQ(driver_->transport_.PollFd(), -1);
  driver_->Notify(Net::kReceiveQueue);
  EXPECT_EQ(driver_->UsedIndex(Net::kReceiveQueue), 1);
  EXPECT_GE(driver_->transport_.PollFd(), 0);
  EXPECT_EQ(driver_->RunEventLoop(), 0) << "armed, but the tap has nothing";
}

// With EVENT_IDX, running out of receive buffers asks the driver to notify when it adds one,
// which is what re-arms polling the tap.
TEST(VmmVirtioNetEventIndex, EmptyReceiveQueueAsksForANotification) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  linux::UniqueFd host(fds[1]);
  FakeDriver driver(std::make_unique<Net>(linux::UniqueFd(fds[0]), MacAddress{6}));
  driver.Initialize(kFeatureVersion1 | kFeatureEventIndex);
  driver.Submit({{0x20000, 2048, true}}, 0, Net::kReceiveQueue);
  driver.Submit({{0x21000, 2048, true}}, 1, Net::kReceiveQueue);
  driver.Notify(Net::kReceiveQueue);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(::write(host.get(), "012345678901frame", 17), 17);
  driver.RunEventLoop();
  EXPECT_EQ(driver.UsedIndex(Net::kReceiveQueue), 2);
  EXPECT_EQ(driver.AvailEvent(Net::kReceiveQueue), 2);
  EXPECT_EQ(driver.transport_.PollFd(), -1);
  driver.Submit({{0x20000, 2048, true}}, 2, Net::kReceiveQueue);
  driver.Notify(Net::kReceiveQueue);  // the driver notifies: avail_event was reached
  EXPECT_EQ(driver.UsedIndex(Net::kReceiveQueue), 3);
}

TEST_F(VmmVirtioNet, FrameLargerThanTheBufferIsDropped) {
  PostReceiveBuffer(0, 0x20000, 16);
  PostReceiveBuffer(1, 0x21000, 2048);
  driver_->Notify(Net::kReceiveQueue);
  std::string big = Frame(std::string(100, 'b'));
  std::string small = Frame("ok");
  ASSERT_GT(::write(host_.get(), big.data(), big.size()), 0);
  ASSERT_GT(::write(host_.get(), small.data(), small.size()), 0);
  driver_->transport_.HandlePollReady();
  ASSERT_EQ(driver_->UsedIndex(Net::kReceiveQueue), 2);
  EXPECT_EQ(driver_->Used(0, Net::kReceiveQueue).second, 0u);
  EXPECT_EQ(driver_->Used(1, Net::kReceiveQueue).second, small.size());
}

TEST(VmmVirtioNetMac, ParsesAndRejects) {
  auto mac = ParseMac("06:aa:BB:0c:0d:0e");
  ASSERT_TRUE(mac);
  EXPECT_EQ((*mac)[1], 0xaa);
  EXPECT_EQ((*mac)[2], 0xbb);
  EXPECT_FALSE(ParseMac("06:aa:bb:0c:0d"));
  EXPECT_FALSE(ParseMac("06-aa-bb-0c-0d-0e"));
  EXPECT_FALSE(ParseMac("06:aa:bb:0c:0d:0g"));
  EXPECT_FALSE(ParseMac("01:00:5e:00:00:01")) << "multicast";
  MacAddress random = RandomMac();
  EXPECT_EQ(random[0] & 3, 2) << "locally administered unicast";
}

// virtio-vsock with unix sockets on the host side, driven by a fake guest driver.
class VmmVirtioVsock : public ::testing::Test {
 protected:
  static constexpr uint64_t kGuestCid = 42;
  static constexpr uint64_t kTxBuffer = 0x10000, kRxBuffers = 0x40000;

  void SetUp() override {
    char pattern[] = "/tmp/hull-vmm-vsock-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    Open({}, 8);
  }
  // (Re)creates the device with `limits` and posts `rx_buffers` receive buffers.
  void Open(VsockLimits limits, int rx_buffers) {
    driver_.reset();
    auto vsock = Vsock::Open(kGuestCid, dir_ + "/v.sock", limits);
    ASSERT_TRUE(vsock) << vsock.error().ToString();
    driver_ = std::make_unique<FakeDriver>(std::move(*vsock));
    driver_->Initialize();
    next_rx_descriptor_ = next_tx_descriptor_ = rx_seen_ = 0;
    for (int i = 0; i < rx_buffers; ++i) PostRx();
    driver_->Notify(Vsock::kReceiveQueue);
  }
  void TearDown() override {
    driver_.reset();
    (void)linux::RemoveAll(dir_);
  }

  void PostRx() {
    uint16_t d = next_rx_descriptor_++;
    driver_->Submit({{kRxBuffers + (d % 16) * 0x2000, 0x2000, true}}, d % 16, Vsock::kReceiveQueue);
  }
  void Send(uint16_t op, uint32_t src_port, uint32_t dst_port, const std::string& payload = "",
            uint32_t flags = 0) {
    VsockHeader h{kGuestCid,
                  Vsock::kHostCid,
                  src_port,
                  dst_port,
                  static_cast<uint32_t>(payload.size()),
                  Vsock::kTypeStream,
                  op,
                  flags,
                  guest_buffer_,
                  guest_forwarded_};
    std::memcpy(driver_->ram_.data() + kTxBuffer, &h, sizeof(h));
    std::memcpy(driver_->ram_.data() + kTxBuffer + sizeof(h), payload.data(), payload.size());
    uint16_t d = next_tx_descriptor_++ % 16;
    driver_->Submit({{kTxBuffer, static_cast<uint32_t>(sizeof(h) + payload.size()), false}}, d,
                    Vsock::kTransmitQueue);
    driver_->Notify(Vsock::kTransmitQueue);
  }
  // Packets the device has put in the receive queue since the last call.
  std::vector<std::pair<VsockHeader, std::string>> Received() {
    std::vector<std::pair<VsockHeader, std::string>> packets;
    while (rx_seen_ != driver_->UsedIndex(Vsock::kReceiveQueue)) {
      auto [id, length] = driver_->Used(rx_seen_++, Vsock::kReceiveQueue);
      VsockHeader h;
      uint64_t at = kRxBuffers + (id % 16) * 0x2000;
      std::memcpy(&h, driver_->ram_.data() + at, sizeof(h));
      std::string payload(reinterpret_cast<char*>(driver_->ram_.data() + at + sizeof(h)),
                          length >= sizeof(h) ? length - sizeof(h) : 0);
      packets.emplace_back(h, payload);
      PostRx();
    }
    driver_->Notify(Vsock::kReceiveQueue);
    return packets;
  }
  // Received() until nothing more comes.
  std::vector<std::pair<VsockHeader, std::string>> ReceivedAll() {
    std::vector<std::pair<VsockHeader, std::string>> all;
    while (true) {
      auto some = Received();
      if (some.empty()) return all;
      all.insert(all.end(), some.begin(), some.end());
    }
  }
  static std::string Data(const std::vector<std::pair<VsockHeader, std::string>>& packets) {
    std::string data;
    for (auto& [h, payload] : packets)
      if (h.op == Vsock::kOpReadWrite) data += payload;
    return data;
  }
  static int Count(const std::vector<std::pair<VsockHeader, std::string>>& packets, uint16_t op) {
    int n = 0;
    for (auto& [h, payload] : packets) n += h.op == op;
    return n;
  }
  void Poll() { driver_->transport_.HandlePollReady(); }
  // A guest connection from `guest_port` to a host listener on `host_port`; returns the host's
  // end.
  linux::UniqueFd Establish(uint32_t guest_port, uint32_t host_port) {
    if (!listeners_.contains(host_port))
      listeners_[host_port] = Listen(dir_ + "/v.sock_" + std::to_string(host_port));
    Send(Vsock::kOpRequest, guest_port, host_port);
    auto packets = Received();
    EXPECT_EQ(packets.size(), 1u);
    if (packets.size() == 1) {
      EXPECT_EQ(packets[0].first.op, Vsock::kOpResponse);
    }
    int fd = ::accept4(listeners_[host_port].get(), nullptr, nullptr, SOCK_CLOEXEC);
    EXPECT_GE(fd, 0);
    return linux::UniqueFd(fd);
  }
  // Reads until end of file (or two seconds of silence).
  static std::string ReadToEof(int fd, bool* eof = nullptr) {
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string data;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) data.append(buffer, n);
    if (eof) *eof = n == 0;
    return data;
  }
  linux::UniqueFd Listen(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd, 4), 0);
    return linux::UniqueFd(fd);
  }
  linux::UniqueFd Connect(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
    return linux::UniqueFd(fd);
  }
  static std::string ReadSome(int fd) {
    char buffer[256];
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    return n > 0 ? std::string(buffer, n) : "";
  }

  std::string dir_;
  std::unique_ptr<FakeDriver> driver_;
  uint16_t next_rx_descriptor_ = 0, next_tx_descriptor_ = 0, rx_seen_ = 0;
  uint32_t guest_forwarded_ = 0;
  uint32_t guest_buffer_ = 65536;
  std::map<uint32_t, linux::UniqueFd> listeners_;
};

TEST_F(VmmVirtioVsock, ConfigHasTheGuestCid) {
  EXPECT_EQ(driver_->Read(MmioTransport::kDeviceId), Vsock::kDeviceType);
  EXPECT_EQ(driver_->Read(MmioTransport::kConfig), kGuestCid);
}

TEST_F(VmmVirtioVsock, GuestConnectsToAHostListener) {
  linux::UniqueFd listener = Listen(dir_ + "/v.sock_5000");
  Send(Vsock::kOpRequest, 1234, 5000);
  auto packets = Received();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpResponse);
  EXPECT_EQ(packets[0].first.src_port, 5000u);
  EXPECT_EQ(packets[0].first.dst_port, 1234u);
  EXPECT_EQ(packets[0].first.dst_cid, kGuestCid);
  int accepted = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(accepted, 0);
  linux::UniqueFd host(accepted);

  Send(Vsock::kOpReadWrite, 1234, 5000, "ping from guest");
  EXPECT_EQ(ReadSome(host.get()), "ping from guest");
  ASSERT_EQ(::write(host.get(), "pong", 4), 4);
  Poll();
  packets = Received();
  std::string data;
  for (auto& [h, payload] : packets) {
    if (h.op == Vsock::kOpReadWrite) data += payload;
    EXPECT_EQ(h.fwd_cnt, 15u) << "our fwd_cnt counts what reached the host";
  }
  EXPECT_EQ(data, "pong");

  host.reset();  // host closes: the guest is told
  Poll();
  packets = Received();
  ASSERT_FALSE(packets.empty());
  EXPECT_EQ(packets.back().first.op, Vsock::kOpShutdown);
  EXPECT_EQ(packets.back().first.flags, Vsock::kShutdownSend | Vsock::kShutdownReceive)
      << "the host closed both ways";
  Send(Vsock::kOpReset, 1234, 5000);
}

TEST_F(VmmVirtioVsock, ConnectionToANonListeningPortIsReset) {
  Send(Vsock::kOpRequest, 1234, 6000);
  auto packets = Received();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpReset);
}

TEST_F(VmmVirtioVsock, HostConnectsToTheGuest) {
  linux::UniqueFd host = Connect(dir_ + "/v.sock");
  ASSERT_EQ(::write(host.get(), "CONNECT 52\n", 11), 11);
  Poll();
  auto packets = Received();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpRequest);
  EXPECT_EQ(packets[0].first.dst_port, 52u);
  uint32_t host_port = packets[0].first.src_port;
  EXPECT_GE(host_port, Vsock::kFirstHostPort);
  Send(Vsock::kOpResponse, 52, host_port);
  EXPECT_EQ(ReadSome(host.get()), "OK " + std::to_string(host_port) + "\n");
  ASSERT_EQ(::write(host.get(), "hello guest", 11), 11);
  Poll();
  packets = Received();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpReadWrite);
  EXPECT_EQ(packets[0].second, "hello guest");
  Send(Vsock::kOpReadWrite, 52, host_port, "hello host");
  EXPECT_EQ(ReadSome(host.get()), "hello host");
}

TEST_F(VmmVirtioVsock, BadHandshakeAndGuestRefusalCloseTheHostSocket) {
  linux::UniqueFd bad = Connect(dir_ + "/v.sock");
  ASSERT_EQ(::write(bad.get(), "HELLO\n", 6), 6);
  Poll();
  EXPECT_EQ(ReadSome(bad.get()), "") << "closed without an answer";
  EXPECT_TRUE(Received().empty());

  linux::UniqueFd refused = Connect(dir_ + "/v.sock");
  ASSERT_EQ(::write(refused.get(), "CONNECT 99\n", 11), 11);
  Poll();
  auto packets = Received();
  ASSERT_EQ(packets.size(), 1u);
  Send(Vsock::kOpReset, 99, packets[0].first.src_port);
  EXPECT_EQ(ReadSome(refused.get()), "");
}

TEST_F(VmmVirtioVsock, HostClientGivingUpBeforeTheGuestAnswersIsReset) {
  linux::UniqueFd host = Connect(dir_ + "/v.sock");
  ASSERT_EQ(::write(host.get(), "CONNECT 52\n", 11), 11);
  Poll();
  auto packets = Received();
  ASSERT_EQ(packets.size(), 1u);
  ASSERT_EQ(packets[0].first.op, Vsock::kOpRequest);
  host.reset();
  Poll();
  packets = ReceivedAll();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpReset);
  EXPECT_EQ(packets[0].first.dst_port, 52u);
}

TEST_F(VmmVirtioVsock, MalformedPacketsAreDropped) {
  linux::UniqueFd listener = Listen(dir_ + "/v.sock_7000");
  // A header claiming more payload than the packet has.
  VsockHeader h{kGuestCid,          Vsock::kHostCid,   1, 7000, 1000,
                Vsock::kTypeStream, Vsock::kOpRequest, 0, 0,    0};
  std::memcpy(driver_->ram_.data() + kTxBuffer, &h, sizeof(h));
  driver_->Submit({{kTxBuffer, sizeof(h), false}}, 0, Vsock::kTransmitQueue);
  // A packet shorter than a header, and one from a CID that is not the guest's.
  driver_->Submit({{kTxBuffer, 10, false}}, 1, Vsock::kTransmitQueue);
  VsockHeader spoofed{7, Vsock::kHostCid, 1, 7000, 0, Vsock::kTypeStream, Vsock::kOpRequest, 0, 0,
                      0};
  std::memcpy(driver_->ram_.data() + kTxBuffer + 0x100, &spoofed, sizeof(spoofed));
  driver_->Submit({{kTxBuffer + 0x100, sizeof(spoofed), false}}, 2, Vsock::kTransmitQueue);
  next_tx_descriptor_ = 3;
  driver_->Notify(Vsock::kTransmitQueue);
  EXPECT_EQ(driver_->UsedIndex(Vsock::kTransmitQueue), 3);
  EXPECT_TRUE(Received().empty());
  // Data on a connection that does not exist is answered with a reset.
  Send(Vsock::kOpReadWrite, 1, 7000, "stray");
  auto packets = Received();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpReset);
}

TEST_F(VmmVirtioVsock, CorruptReceiveRingNeedsAReset) {
  driver_->SetAvailIndex(0x9000, Vsock::kReceiveQueue);
  Send(Vsock::kOpRequest, 1234, 6000);  // answered with a reset, which needs a receive buffer
  EXPECT_TRUE(driver_->NeedsReset());
  EXPECT_EQ(driver_->transport_.PollFd(), -1);
}

// A guest that sends requests nobody listens for and never reads the resets must not grow the
// VMM without bound.
TEST_F(VmmVirtioVsock, ResetsForAGuestThatDoesNotReadAreBounded) {
  Open({.max_connections = 0, .max_queued_control = 32}, /*rx_buffers=*/0);
  for (uint32_t port = 0; port < 500; ++port) Send(Vsock::kOpRequest, 10000 + port, 6000);
  for (int i = 0; i < 8; ++i) PostRx();
  driver_->Notify(Vsock::kReceiveQueue);
  auto packets = ReceivedAll();
  EXPECT_EQ(Count(packets, Vsock::kOpReset), 32) << "the first 32, the rest dropped";
  // The device still answers new requests once the guest reads again.
  Send(Vsock::kOpRequest, 1, 6000);
  packets = ReceivedAll();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpReset);
  EXPECT_EQ(packets[0].first.dst_port, 1u);
}

TEST_F(VmmVirtioVsock, ConnectionsBeyondTheLimitAreRefused) {
  Open({.max_connections = 2}, 8);
  linux::UniqueFd first = Establish(1, 5000);
  linux::UniqueFd second = Establish(2, 5000);
  Send(Vsock::kOpRequest, 3, 5000);
  auto packets = Received();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpReset) << "a third connection is refused";
  // So is a host client: its socket is closed without an answer (a reset, as its line was not
  // read).
  linux::UniqueFd client = Connect(dir_ + "/v.sock");
  ASSERT_EQ(::write(client.get(), "CONNECT 52\n", 11), 11);
  Poll();
  char byte;
  EXPECT_LT(::recv(client.get(), &byte, 1, MSG_DONTWAIT), 0);
  EXPECT_EQ(errno, ECONNRESET);
  EXPECT_TRUE(ReceivedAll().empty()) << "the guest is not asked";
  // Closing one makes room again.
  Send(Vsock::kOpReset, 1, 5000);
  linux::UniqueFd third = Establish(3, 5000);
  Send(Vsock::kOpReadWrite, 3, 5000, "third");
  EXPECT_EQ(ReadSome(third.get()), "third");
}

// Request, shutdown(SHUT_WR), read the reply: the guest's half-close reaches the host as end of
// file, and the host's reply still reaches the guest.
TEST_F(VmmVirtioVsock, GuestHalfCloseStillReceivesTheReply) {
  linux::UniqueFd host = Establish(1234, 5000);
  Send(Vsock::kOpReadWrite, 1234, 5000, "request");
  Send(Vsock::kOpShutdown, 1234, 5000, "", Vsock::kShutdownSend);
  bool eof = false;
  EXPECT_EQ(ReadToEof(host.get(), &eof), "request");
  EXPECT_TRUE(eof) << "the host sees end of file after the request";
  ASSERT_EQ(::write(host.get(), "reply", 5), 5);
  host.reset();
  Poll();
  auto packets = ReceivedAll();
  EXPECT_EQ(Data(packets), "reply");
  ASSERT_FALSE(packets.empty());
  EXPECT_EQ(packets.back().first.op, Vsock::kOpShutdown);
  EXPECT_EQ(packets.back().first.flags, Vsock::kShutdownSend | Vsock::kShutdownReceive);
  // The connection is gone: anything more from the guest is reset.
  Send(Vsock::kOpReadWrite, 1234, 5000, "late");
  packets = ReceivedAll();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpReset);
}

// The host half-closes: the guest hears only that no more data comes, and can still answer.
TEST_F(VmmVirtioVsock, HostHalfCloseLetsTheGuestAnswer) {
  linux::UniqueFd host = Establish(1234, 5000);
  ASSERT_EQ(::write(host.get(), "question", 8), 8);
  ASSERT_EQ(::shutdown(host.get(), SHUT_WR), 0);
  Poll();
  auto packets = ReceivedAll();
  EXPECT_EQ(Data(packets), "question");
  ASSERT_FALSE(packets.empty());
  EXPECT_EQ(packets.back().first.op, Vsock::kOpShutdown);
  EXPECT_EQ(packets.back().first.flags, Vsock::kShutdownSend) << "the host still receives";
  Send(Vsock::kOpReadWrite, 1234, 5000, "answer");
  EXPECT_EQ(ReadSome(host.get()), "answer");
  // The guest closes: it is answered with a reset and the host sees end of file.
  Send(Vsock::kOpShutdown, 1234, 5000, "", Vsock::kShutdownSend | Vsock::kShutdownReceive);
  packets = ReceivedAll();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpReset);
  bool eof = false;
  EXPECT_EQ(ReadToEof(host.get(), &eof), "");
  EXPECT_TRUE(eof);
}

TEST_F(VmmVirtioVsock, GuestShutdownOfReceivingStopsTheHostWriter) {
  linux::UniqueFd host = Establish(1234, 5000);
  Send(Vsock::kOpShutdown, 1234, 5000, "", Vsock::kShutdownReceive);
  errno = 0;
  EXPECT_LT(::send(host.get(), "x", 1, MSG_NOSIGNAL), 0);
  EXPECT_EQ(errno, EPIPE);
  Send(Vsock::kOpReadWrite, 1234, 5000, "still sending");
  EXPECT_EQ(ReadSome(host.get()), "still sending");
}

// Host to guest: never more than the guest's advertised buffer space beyond what it has
// acknowledged (buf_alloc - (sent - fwd_cnt)).
TEST_F(VmmVirtioVsock, HonoursTheGuestsCredit) {
  guest_buffer_ = 1000;
  linux::UniqueFd host = Establish(1234, 5000);
  std::string data(3000, 'h');
  ASSERT_EQ(::write(host.get(), data.data(), data.size()), 3000);
  Poll();
  auto packets = ReceivedAll();
  EXPECT_EQ(Data(packets).size(), 1000u);
  guest_forwarded_ = 600;  // the guest read 600 bytes and says so
  Send(Vsock::kOpCreditUpdate, 1234, 5000);
  EXPECT_EQ(Data(ReceivedAll()).size(), 600u);
  guest_buffer_ = 4000;  // a bigger buffer
  Send(Vsock::kOpCreditUpdate, 1234, 5000);
  EXPECT_EQ(Data(ReceivedAll()).size(), 1400u) << "the rest";
}

// Guest to host: our credit is announced in every packet, on request, and unasked once a good
// part of the buffer was forwarded; a guest that ignores it is reset.
TEST_F(VmmVirtioVsock, AnnouncesItsOwnCredit) {
  linux::UniqueFd host = Establish(1234, 5000);
  Send(Vsock::kOpReadWrite, 1234, 5000, "small");
  EXPECT_EQ(ReadSome(host.get()), "small");
  Poll();
  EXPECT_TRUE(ReceivedAll().empty()) << "no credit update for a few bytes";
  Send(Vsock::kOpCreditRequest, 1234, 5000);
  auto packets = ReceivedAll();
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].first.op, Vsock::kOpCreditUpdate);
  EXPECT_EQ(packets[0].first.fwd_cnt, 5u);
  EXPECT_EQ(packets[0].first.buf_alloc, Vsock::kBufferSize);

  std::string chunk(Vsock::kMaxPayload, 'g');
  for (uint32_t sent = 0; sent < Vsock::kBufferSize; sent += Vsock::kMaxPayload) {
    Send(Vsock::kOpReadWrite, 1234, 5000, chunk);
    // The host reads as the guest sends, with the socket buffer in between.
    std::string got;
    while (got.size() < chunk.size()) {
      std::string more = ReadSome(host.get());
      if (more.empty()) break;
      got += more;
    }
    Poll();
  }
  packets = ReceivedAll();
  ASSERT_FALSE(packets.empty()) << "an unasked credit update";
  EXPECT_EQ(packets.back().first.op, Vsock::kOpCreditUpdate);
  EXPECT_GE(packets.back().first.fwd_cnt, 5u + Vsock::kCreditUpdateThreshold);
}

TEST_F(VmmVirtioVsock, GuestOverrunningItsCreditIsReset) {
  linux::UniqueFd host = Establish(1234, 5000);  // the host never reads
  std::string chunk(Vsock::kMaxPayload, 'g');
  bool reset = false;
  for (int i = 0; i < 16 && !reset; ++i) {
    Send(Vsock::kOpReadWrite, 1234, 5000, chunk);
    reset = Count(ReceivedAll(), Vsock::kOpReset) > 0;
  }
  EXPECT_TRUE(reset);
}

TEST(VmmVirtioVsockOpen, RejectsBadCids) {
  EXPECT_FALSE(Vsock::Open(2, "/tmp/hull-vmm-vsock-unused.sock"));
  EXPECT_FALSE(Vsock::Open(1ULL << 33, "/tmp/hull-vmm-vsock-unused.sock"));
}

}  // namespace
}  // namespace hull::vmm::virtio
