// VirtioDevice: what a virtio device model implements; the transport (mmio.h) handles feature
// negotiation, status and queue setup and calls in here.
//
// Thread-safety: the transport calls a device with its own lock held, so a device model sees
// one call at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::virtio {

inline constexpr uint64_t kFeatureVersion1 = 1ULL << 32;

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual uint32_t DeviceType() const = 0;
  // Feature bits offered (kFeatureVersion1 is added by the transport).
  virtual uint64_t Features() const = 0;
  virtual size_t QueueCount() const = 0;
  virtual uint16_t QueueMaxSize() const { return Queue::kMaxSize; }
  // Device-specific configuration space; out-of-range reads see zeros.
  virtual void ReadConfig(uint64_t offset, std::span<uint8_t> data) const = 0;
  virtual void WriteConfig(uint64_t, std::span<const uint8_t>) {}
  // Called once the driver sets DRIVER_OK, with the negotiated features.
  virtual Result<void> Activate(uint64_t /*features*/) { return {}; }
  // Processes the available buffers of queue `index` (the driver notified it); `queues` holds
  // all of the device's queues, for devices whose requests produce answers on another queue.
  // Returns a bitmask of the queues it put used buffers in (the transport then raises the
  // used-buffer interrupt if the driver wants it).
  virtual uint32_t ProcessQueue(const memory::GuestMemory& memory, std::span<Queue> queues,
                                size_t index) = 0;
  virtual void Reset() {}

  // A host fd the event loop should poll for readability on the device's behalf (it remains
  // owned by the device), or -1. Asked again before every poll.
  virtual int PollFd() const { return -1; }
  // Called when PollFd() is readable, only while the driver has the device running; returns a
  // bitmask of the queues it put used buffers in.
  virtual uint32_t HandlePollReady(const memory::GuestMemory&, std::span<Queue>) { return 0; }
};

// Reads a little-endian config field image `bytes` at `offset` into `data`.
inline void ReadConfigBytes(std::span<const uint8_t> bytes, uint64_t offset, std::span<uint8_t> data) {
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = offset + i < bytes.size() ? bytes[offset + i] : 0;
}

}  // namespace hull::vmm::virtio
