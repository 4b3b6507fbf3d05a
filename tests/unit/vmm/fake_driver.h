// FakeDriver: the driver side of virtio-mmio reduced to what the tests need, over 1 MiB of plain
// memory: initialisation, descriptor chains, notifications and the used rings.
#pragma once

#include <poll.h>

#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "vmm/devices/interrupt.h"
#include "vmm/devices/virtio/mmio.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::virtio {

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

class FakeDriver {
 public:
  // Queue q's areas are at these addresses + q * kQueueStride.
  static constexpr uint64_t kDescriptors = 0x1000, kDriverRing = 0x2000, kDeviceRing = 0x3000;
  static constexpr uint64_t kQueueStride = 0x4000;
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

  // The driver initialisation sequence of the virtio spec, accepting `features` and making the
  // queues in the bitmask `ready_queues` ready. Clears the queues' memory first.
  void Initialize(uint64_t features = kFeatureVersion1, uint32_t ready_queues = ~0u) {
    for (uint32_t q = 0; q < transport_.queue_count(); ++q) {
      std::memset(ram_.data() + kDescriptors + q * kQueueStride, 0, 0x3000);
    }
    Write(MmioTransport::kStatus, 0);
    Write(MmioTransport::kStatus, MmioTransport::kStatusAcknowledge | MmioTransport::kStatusDriver);
    Write(MmioTransport::kDriverFeaturesSel, 0);
    Write(MmioTransport::kDriverFeatures, static_cast<uint32_t>(features));
    Write(MmioTransport::kDriverFeaturesSel, 1);
    Write(MmioTransport::kDriverFeatures, static_cast<uint32_t>(features >> 32));
    Write(MmioTransport::kStatus, MmioTransport::kStatusAcknowledge | MmioTransport::kStatusDriver |
                                      MmioTransport::kStatusFeaturesOk);
    for (uint32_t q = 0; q < transport_.queue_count(); ++q) {
      if (!(ready_queues & (1u << q))) continue;
      Write(MmioTransport::kQueueSel, q);
      Write(MmioTransport::kQueueNum, kQueueSize);
      Write(MmioTransport::kQueueDescLow, static_cast<uint32_t>(kDescriptors + q * kQueueStride));
      Write(MmioTransport::kQueueDriverLow, static_cast<uint32_t>(kDriverRing + q * kQueueStride));
      Write(MmioTransport::kQueueDeviceLow, static_cast<uint32_t>(kDeviceRing + q * kQueueStride));
      Write(MmioTransport::kQueueReady, 1);
    }
    Write(MmioTransport::kStatus, Read(MmioTransport::kStatus) | MmioTransport::kStatusDriverOk);
  }

  void PutDescriptor(uint16_t index, Descriptor d, uint32_t q = 0) {
    std::memcpy(ram_.data() + kDescriptors + q * kQueueStride + 16 * index, &d, sizeof(d));
  }
  // Publishes a chain starting at descriptor `head` (already written) in the driver ring.
  void Publish(uint16_t head, uint32_t q = 0) {
    uint8_t* ring = ram_.data() + kDriverRing + q * kQueueStride;
    uint16_t index;
    std::memcpy(&index, ring + 2, 2);
    std::memcpy(ring + 4 + 2 * (index % kQueueSize), &head, 2);
    ++index;
    std::memcpy(ring + 2, &index, 2);
  }
  // Writes a chain of `segments` from descriptor `first` and publishes it.
  uint16_t Submit(const std::vector<Segment>& segments, uint16_t first = 0, uint32_t q = 0) {
    for (size_t i = 0; i < segments.size(); ++i) {
      uint16_t flags = (segments[i].writable ? kDescriptorWrite : 0) |
                       (i + 1 < segments.size() ? kDescriptorNext : 0);
      PutDescriptor(
          static_cast<uint16_t>(first + i),
          {segments[i].address, segments[i].length, flags, static_cast<uint16_t>(first + i + 1)},
          q);
    }
    Publish(first, q);
    return first;
  }
  void Notify(uint32_t q = 0) { Write(MmioTransport::kQueueNotify, q); }

  uint16_t AvailIndex(uint32_t q = 0) {
    uint16_t index;
    std::memcpy(&index, ram_.data() + kDriverRing + q * kQueueStride + 2, 2);
    return index;
  }
  void SetAvailIndex(uint16_t index, uint32_t q = 0) {
    std::memcpy(ram_.data() + kDriverRing + q * kQueueStride + 2, &index, 2);
  }
  // EVENT_IDX fields: used_event at the end of the driver ring, avail_event at the end of the
  // device ring.
  void SetUsedEvent(uint16_t value, uint32_t q = 0) {
    std::memcpy(ram_.data() + kDriverRing + q * kQueueStride + 4 + 2 * kQueueSize, &value, 2);
  }
  uint16_t AvailEvent(uint32_t q = 0) {
    uint16_t value;
    std::memcpy(&value, ram_.data() + kDeviceRing + q * kQueueStride + 4 + 8 * kQueueSize, 2);
    return value;
  }
  bool NeedsReset() { return Read(MmioTransport::kStatus) & MmioTransport::kStatusNeedsReset; }

  // Does what the VMM's event loop does for this device until its fd is no longer polled or no
  // longer readable, at most `limit` times; returns how many wake-ups that took. A device that
  // makes no progress on a readable fd reaches the limit: the loop would spin.
  int RunEventLoop(int limit = 10) {
    int wakeups = 0;
    for (; wakeups < limit; ++wakeups) {
      int fd = transport_.PollFd();
      if (fd < 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
      transport_.HandlePollReady();
    }
    return wakeups;
  }

  uint16_t UsedIndex(uint32_t q = 0) {
    uint16_t index;
    std::memcpy(&index, ram_.data() + kDeviceRing + q * kQueueStride + 2, 2);
    return index;
  }
  std::pair<uint32_t, uint32_t> Used(uint16_t slot, uint32_t q = 0) {
    uint32_t element[2];
    std::memcpy(element, ram_.data() + kDeviceRing + q * kQueueStride + 4 + 8 * (slot % kQueueSize),
                8);
    return {element[0], element[1]};
  }

  std::vector<uint8_t> ram_;
  FakeInterrupt interrupt_;
  GuestMemory memory_;
  MmioTransport transport_;
};

}  // namespace hull::vmm::virtio
