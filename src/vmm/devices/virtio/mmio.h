// MmioTransport: a virtio device on the virtio-mmio transport, version 2 ("modern"), as the
// virtio 1.x specification's "Virtio Over MMIO" describes: one 4 KiB register window and one
// interrupt line (raised when InterruptStatus becomes non-zero, lowered when the driver
// acknowledges everything).
//
// Queue notifications are processed synchronously on the notifying vCPU's thread.
//
// The transport offers VIRTIO_RING_F_EVENT_IDX for every device. When a queue's ring turns out
// to be corrupt (see queue.h) or the device cannot start, the transport sets DEVICE_NEEDS_RESET,
// raises a configuration change interrupt, and neither processes notifications nor polls the
// device's host fd until the driver resets the device.
// Thread-safety: Read/Write may come from several vCPU threads; one mutex serialises the
// transport and the device model behind it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vmm/devices/bus.h"
#include "vmm/devices/interrupt.h"
#include "vmm/devices/virtio/device.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::virtio {

class MmioTransport : public devices::BusDevice {
 public:
  static constexpr uint64_t kWindowSize = 0x1000;
  static constexpr uint32_t kMagic = 0x74726976;  // "virt"
  static constexpr uint32_t kVersion = 2;
  static constexpr uint32_t kVendorId = 0x4c4c5548;  // "HULL"

  // Register offsets.
  static constexpr uint64_t kMagicValue = 0x000, kVersionReg = 0x004, kDeviceId = 0x008,
                            kVendorIdReg = 0x00c, kDeviceFeatures = 0x010,
                            kDeviceFeaturesSel = 0x014, kDriverFeatures = 0x020,
                            kDriverFeaturesSel = 0x024, kQueueSel = 0x030, kQueueNumMax = 0x034,
                            kQueueNum = 0x038, kQueueReady = 0x044, kQueueNotify = 0x050,
                            kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070,
                            kQueueDescLow = 0x080, kQueueDescHigh = 0x084, kQueueDriverLow = 0x090,
                            kQueueDriverHigh = 0x094, kQueueDeviceLow = 0x0a0,
                            kQueueDeviceHigh = 0x0a4, kConfigGeneration = 0x0fc, kConfig = 0x100;
  // Device status bits.
  static constexpr uint32_t kStatusAcknowledge = 1, kStatusDriver = 2, kStatusDriverOk = 4,
                            kStatusFeaturesOk = 8, kStatusNeedsReset = 64, kStatusFailed = 128;
  static constexpr uint32_t kInterruptUsedBuffer = 1, kInterruptConfigChange = 2;

  // `memory` and `interrupt` must outlive the transport.
  MmioTransport(std::unique_ptr<VirtioDevice> device, const memory::GuestMemory& memory,
                devices::Interrupt& interrupt);

  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // Processes queue `index` as if the driver had written it to QueueNotify (for ioeventfd
  // notifications, which KVM delivers without an MMIO exit, and for tests).
  void Notify(uint32_t index);
  size_t queue_count() const { return queues_.size(); }
  // The device's host fd to poll (see VirtioDevice::PollFd), or -1 while the driver has not
  // started the device or the device needs a reset.
  int PollFd() const;
  // Lets the device handle its readable PollFd(), raising the interrupt if it used buffers.
  void HandlePollReady();
  uint32_t status() const;

 private:
  uint32_t ReadRegister(uint64_t offset);
  void WriteRegister(uint64_t offset, uint32_t value);
  void NotifyLocked(uint32_t index);
  // Raises the used-buffer interrupt if the driver wants one for any queue in the bitmask.
  void RaiseForUsed(uint32_t used_queues);
  // Sets DEVICE_NEEDS_RESET if a queue found its ring corrupt.
  void CheckQueuesLocked();
  // Sets DEVICE_NEEDS_RESET (logging `reason`) and notifies the driver.
  void NeedsResetLocked(const std::string& reason);
  uint64_t OfferedFeatures() const;
  void SetInterruptStatus(uint32_t status);
  void ResetLocked();
  Queue* SelectedQueue();

  mutable std::mutex mutex_;
  std::unique_ptr<VirtioDevice> device_;
  const memory::GuestMemory& memory_;
  devices::Interrupt& interrupt_;
  std::vector<Queue> queues_;
  uint32_t status_ = 0;
  uint32_t device_features_select_ = 0;
  uint32_t driver_features_select_ = 0;
  uint64_t driver_features_ = 0;
  uint32_t queue_select_ = 0;
  uint32_t interrupt_status_ = 0;
  uint32_t config_generation_ = 0;
};

}  // namespace hull::vmm::virtio
