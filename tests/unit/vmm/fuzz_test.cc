// Deterministic random corruption of what guests and users hand hull-vmm: kernel images and
// virtqueues full of garbage must give errors or failed requests, never a crash or a hang.
// (Most useful in a -DHULL_SANITIZE=ON build, where an out-of-bounds access fails the test.)
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "fake_driver.h"
#include "linux/file.h"
#include "synthetic_images.h"
#include "vmm/arch/x86_64/kernel_loader.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/devices/virtio/rng.h"
#include "vmm/devices/virtio/vsock.h"

#include <sys/socket.h>

namespace hull::vmm {
namespace {

std::vector<uint8_t> Mutate(std::vector<uint8_t> image, std::mt19937& random) {
  std::uniform_int_distribution<int> kind(0, 3);
  switch (kind(random)) {
    case 0:  // truncate
      image.resize(std::uniform_int_distribution<size_t>(0, image.size())(random));
      break;
    default: {  // flip bytes, mostly in the headers
      int flips = std::uniform_int_distribution<int>(1, 8)(random);
      for (int i = 0; i < flips; ++i) {
        size_t limit = kind(random) == 0 ? image.size() : std::min<size_t>(image.size(), 0x300);
        if (limit == 0) break;
        image[std::uniform_int_distribution<size_t>(0, limit - 1)(random)] =
            static_cast<uint8_t>(random());
      }
    }
  }
  return image;
}

TEST(VmmFuzz, KernelLoaderSurvivesCorruptImages) {
  auto memory = memory::GuestMemory::Create({.size = 8 << 20});
  ASSERT_TRUE(memory);
  std::mt19937 random(1234);
  const std::vector<std::vector<uint8_t>> seeds = {
      x86_64::SyntheticBzImage(),
      x86_64::SyntheticElf32(0x100000, std::vector<uint8_t>(64, 0x90), 0x100000),
  };
  int loaded = 0;
  for (int i = 0; i < 3000; ++i) {
    auto image = Mutate(seeds[i % seeds.size()], random);
    if (x86_64::LoadKernel(*memory, image)) ++loaded;
  }
  EXPECT_GT(loaded, 0) << "some mutations keep the image valid";
  EXPECT_LT(loaded, 3000);
}

void Garbage(virtio::FakeDriver& driver, std::mt19937& random, size_t queues) {
  // Random descriptors pointing mostly into RAM, random ring contents and indices.
  for (size_t q = 0; q < queues; ++q) {
    uint64_t base = virtio::FakeDriver::kQueueStride * q;
    for (uint16_t d = 0; d < virtio::FakeDriver::kQueueSize; ++d) {
      virtio::Descriptor desc{};
      desc.address = random() % 3 == 0 ? random() : 0x10000 + random() % 0xe0000;
      desc.length = random() % 4 == 0 ? static_cast<uint32_t>(random()) : random() % 0x2000;
      desc.flags = static_cast<uint16_t>(random() & 7);
      desc.next = static_cast<uint16_t>(random() % 20);
      std::memcpy(driver.ram_.data() + virtio::FakeDriver::kDescriptors + base + 16 * d, &desc, 16);
    }
    for (size_t i = 0; i < 4 + 2 * virtio::FakeDriver::kQueueSize; ++i)
      driver.ram_[virtio::FakeDriver::kDriverRing + base + i] = static_cast<uint8_t>(random());
  }
  for (size_t i = 0x10000; i < 0x10400; ++i) driver.ram_[i] = static_cast<uint8_t>(random());
  for (size_t q = 0; q < queues; ++q) driver.Notify(static_cast<uint32_t>(q));
  driver.transport_.HandlePollReady();
}

TEST(VmmFuzz, VirtqueuesFullOfGarbage) {
  char pattern[] = "/tmp/hull-vmm-fuzz-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  std::string dir = pattern;
  ASSERT_TRUE(linux::WriteFile(dir + "/disk.img", std::string(1 << 20, 'd')));
  std::mt19937 random(99);
  for (int round = 0; round < 40; ++round) {
    std::vector<std::pair<std::unique_ptr<virtio::VirtioDevice>, size_t>> devices;
    devices.emplace_back(std::make_unique<virtio::Rng>(), 1);
    devices.emplace_back(std::move(*virtio::Block::Open(dir + "/disk.img", false)), 1);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    linux::UniqueFd host(fds[1]);
    ASSERT_EQ(::write(fds[1], "012345678901frame", 17), 17);
    devices.emplace_back(std::make_unique<virtio::Net>(linux::UniqueFd(fds[0]), virtio::MacAddress{6}), 2);
    auto vsock = virtio::Vsock::Open(3, dir + "/v.sock");
    ASSERT_TRUE(vsock);
    devices.emplace_back(std::move(*vsock), 3);
    for (auto& [device, queues] : devices) {
      virtio::FakeDriver driver(std::move(device));
      driver.Initialize();
      for (int i = 0; i < 25; ++i) Garbage(driver, random, queues);
    }
  }
  (void)linux::RemoveAll(dir);
}

}  // namespace
}  // namespace hull::vmm
