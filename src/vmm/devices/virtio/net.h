// Net: virtio network device (device type 1) on a tap interface (or, in tests, any fd that
// carries one frame per read/write). Frames on the backend carry the 12-byte virtio-net header
// (the tap is opened with IFF_VNET_HDR and TUNSETVNETHDRSZ 12 and no offloads), so headers pass
// through unchanged. Queue 0 receives, queue 1 transmits.
//
// The backend is read only into a receive buffer the device already holds: while the receive
// queue is not ready or has no buffers, frames stay in the backend and its fd is not polled
// until the driver adds buffers (notifies queue 0), so neither a full guest nor one that never
// sets up receiving makes the VMM spin. A frame larger than the guest's buffer is dropped (and
// logged), not truncated.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"
#include "vmm/devices/virtio/device.h"

namespace hull::vmm::virtio {

using MacAddress = std::array<uint8_t, 6>;

// Parses "aa:bb:cc:dd:ee:ff".
[[nodiscard]] Result<MacAddress> ParseMac(std::string_view text);
// A random locally administered unicast address.
MacAddress RandomMac();

class Net : public VirtioDevice {
 public:
  static constexpr uint32_t kDeviceType = 1;
  static constexpr uint64_t kFeatureMac = 1ULL << 5;
  static constexpr uint64_t kFeatureStatus = 1ULL << 16;
  static constexpr size_t kHeaderSize = 12;   // struct virtio_net_hdr_v1
  static constexpr size_t kMaxFrame = 65550;  // header + largest frame a tap hands over
  static constexpr size_t kReceiveQueue = 0, kTransmitQueue = 1;

  // Takes ownership of `backend` (non-blocking).
  Net(linux::UniqueFd backend, MacAddress mac) : backend_(std::move(backend)), mac_(mac) {}
  // Opens (creating if needed) tap interface `name` for virtio-net headers; errors name it.
  [[nodiscard]] static Result<std::unique_ptr<Net>> OpenTap(const std::string& name,
                                                            MacAddress mac);

  uint32_t DeviceType() const override { return kDeviceType; }
  uint64_t Features() const override { return kFeatureMac | kFeatureStatus; }
  size_t QueueCount() const override { return 2; }
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override;
  uint32_t ProcessQueue(const memory::GuestMemory& memory, std::span<Queue> queues,
                        size_t index) override;
  Result<void> Activate(uint64_t features) override;
  void Reset() override;
  int PollFd() const override;
  uint32_t HandlePollReady(const memory::GuestMemory& memory, std::span<Queue> queues) override;

 private:
  bool Transmit(const memory::GuestMemory& memory, Queue& queue);
  // Delivers what the backend has while buffers last.
  bool Receive(const memory::GuestMemory& memory, Queue& queue);

  linux::UniqueFd backend_;
  MacAddress mac_;
  // Poll the backend for receiving: set when the device starts and when the driver notifies
  // the receive queue, cleared when the queue turns out not ready or empty, or the backend
  // fails.
  bool receive_armed_ = false;
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(kMaxFrame);
};

}  // namespace hull::vmm::virtio
