// Rng: virtio entropy device (device type 4), one queue; fills every device-writable buffer
// with bytes from the host's getrandom().
#pragma once

#include "vmm/devices/virtio/device.h"

namespace hull::vmm::virtio {

class Rng : public VirtioDevice {
 public:
  static constexpr uint32_t kDeviceType = 4;
  // Largest answer per request; a driver asking for more gets this much (as the spec allows).
  static constexpr uint32_t kMaxRequest = 64 * 1024;

  uint32_t DeviceType() const override { return kDeviceType; }
  uint64_t Features() const override { return 0; }
  size_t QueueCount() const override { return 1; }
  void ReadConfig(uint64_t, std::span<uint8_t> data) const override {
    std::fill(data.begin(), data.end(), 0);
  }
  uint32_t ProcessQueue(const memory::GuestMemory& memory, std::span<Queue> queues,
                        size_t index) override;

 private:
  bool Serve(const memory::GuestMemory& memory, Queue& queue);
};

}  // namespace hull::vmm::virtio
