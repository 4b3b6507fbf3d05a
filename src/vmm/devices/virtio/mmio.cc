#include "vmm/devices/virtio/mmio.h"

#include <cstring>

#include "base/log.h"
#include "vmm/devices/guest_log.h"

namespace hull::vmm::virtio {

MmioTransport::MmioTransport(std::unique_ptr<VirtioDevice> device,
                             const memory::GuestMemory& memory, devices::Interrupt& interrupt)
    : device_(std::move(device)), memory_(memory), interrupt_(interrupt) {
  for (size_t i = 0; i < device_->QueueCount(); ++i) queues_.emplace_back(device_->QueueMaxSize());
}

uint32_t MmioTransport::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

Queue* MmioTransport::SelectedQueue() {
  return queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
}

void MmioTransport::Read(uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  std::lock_guard lock(mutex_);
  if (offset >= kConfig) {
    device_->ReadConfig(offset - kConfig, data);
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) return;  // registers are 32-bit, aligned
  uint32_t value = ReadRegister(offset);
  std::memcpy(data.data(), &value, 4);
}

void MmioTransport::Write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (offset >= kConfig) {
    device_->WriteConfig(offset - kConfig, data);
    ++config_generation_;
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) return;
  uint32_t value;
  std::memcpy(&value, data.data(), 4);
  WriteRegister(offset, value);
}

uint64_t MmioTransport::OfferedFeatures() const {
  return device_->Features() | kFeatureVersion1 | kFeatureEventIndex;
}

uint32_t MmioTransport::ReadRegister(uint64_t offset) {
  uint64_t features = OfferedFeatures();
  Queue* queue = SelectedQueue();
  switch (offset) {
    case kMagicValue:
      return kMagic;
    case kVersionReg:
      return kVersion;
    case kDeviceId:
      return device_->DeviceType();
    case kVendorIdReg:
      return kVendorId;
    case kDeviceFeatures:
      return device_features_select_ == 0   ? static_cast<uint32_t>(features)
             : device_features_select_ == 1 ? static_cast<uint32_t>(features >> 32)
                                            : 0;
    case kQueueNumMax:
      return queue ? queue->max_size() : 0;
    case kQueueReady:
      return queue && queue->ready() ? 1 : 0;
    case kInterruptStatus:
      return interrupt_status_;
    case kStatus:
      return status_;
    case kConfigGeneration:
      return config_generation_;
    default:
      return 0;
  }
}

void MmioTransport::WriteRegister(uint64_t offset, uint32_t value) {
  Queue* queue = SelectedQueue();
  // Queue layout may change only while the queue is not ready.
  bool queue_writable = queue && !queue->ready() && !(status_ & kStatusDriverOk);
  auto set_low = [](uint64_t& field, uint32_t v) { field = (field & ~0xffffffffULL) | v; };
  auto set_high = [](uint64_t& field, uint32_t v) {
    field = (field & 0xffffffffULL) | (uint64_t{v} << 32);
  };
  switch (offset) {
    case kDeviceFeaturesSel:
      device_features_select_ = value;
      return;
    case kDriverFeaturesSel:
      driver_features_select_ = value;
      return;
    case kDriverFeatures:
      if (status_ & kStatusFeaturesOk) return;  // too late to change
      if (driver_features_select_ == 0)
        set_low(driver_features_, value);
      else if (driver_features_select_ == 1)
        set_high(driver_features_, value);
      return;
    case kQueueSel:
      queue_select_ = value;
      return;
    case kQueueNum:
      if (queue_writable) queue->set_size(static_cast<uint16_t>(std::min<uint32_t>(value, 0xffff)));
      return;
    case kQueueDescLow:
      if (queue_writable) set_low(queue->descriptor_table(), value);
      return;
    case kQueueDescHigh:
      if (queue_writable) set_high(queue->descriptor_table(), value);
      return;
    case kQueueDriverLow:
      if (queue_writable) set_low(queue->driver_ring(), value);
      return;
    case kQueueDriverHigh:
      if (queue_writable) set_high(queue->driver_ring(), value);
      return;
    case kQueueDeviceLow:
      if (queue_writable) set_low(queue->device_ring(), value);
      return;
    case kQueueDeviceHigh:
      if (queue_writable) set_high(queue->device_ring(), value);
      return;
    case kQueueReady:
      if (!queue) return;
      if (value == 1) {
        if (auto valid = queue->Validate(memory_); !valid) {
          NeedsResetLocked("queue " + std::to_string(queue_select_) +
                           " rejected: " + valid.error().ToString());
          return;
        }
        queue->set_ready(true);
      } else {
        queue->set_ready(false);
      }
      return;
    case kQueueNotify:
      NotifyLocked(value);
      return;
    case kInterruptAck:
      SetInterruptStatus(interrupt_status_ & ~value);
      return;
    case kStatus: {
      if (value == 0) {
        ResetLocked();
        return;
      }
      // DEVICE_NEEDS_RESET is the device's to set; only a reset clears it.
      value = (value & ~kStatusNeedsReset) | (status_ & kStatusNeedsReset);
      uint32_t added = value & ~status_;
      if (added & kStatusFeaturesOk) {
        uint64_t offered = OfferedFeatures();
        if ((driver_features_ & ~offered) || !(driver_features_ & kFeatureVersion1)) {
          value &= ~kStatusFeaturesOk;  // the driver sees FEATURES_OK did not stick
        }
      }
      status_ = value;
      if ((added & kStatusDriverOk) && (value & kStatusFeaturesOk)) {
        for (Queue& q : queues_) q.set_event_index((driver_features_ & kFeatureEventIndex) != 0);
        if (auto activated = device_->Activate(driver_features_); !activated)
          NeedsResetLocked("device activation failed: " + activated.error().ToString());
      }
      return;
    }
    default:
      return;
  }
}

void MmioTransport::Notify(uint32_t index) {
  std::lock_guard lock(mutex_);
  NotifyLocked(index);
}

void MmioTransport::NotifyLocked(uint32_t index) {
  if (!(status_ & kStatusDriverOk) || (status_ & kStatusNeedsReset)) return;
  if (index >= queues_.size() || !queues_[index].ready()) return;
  RaiseForUsed(device_->ProcessQueue(memory_, queues_, index));
  CheckQueuesLocked();
}

void MmioTransport::RaiseForUsed(uint32_t used_queues) {
  bool wanted = false;
  // Ask every queue that got used buffers: with EVENT_IDX each one tracks what it was asked.
  for (size_t i = 0; i < queues_.size() && i < 32; ++i) {
    if ((used_queues & (1u << i)) && queues_[i].NeedsInterrupt(memory_)) wanted = true;
  }
  if (wanted) SetInterruptStatus(interrupt_status_ | kInterruptUsedBuffer);
}

void MmioTransport::CheckQueuesLocked() {
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (queues_[i].broken()) {
      NeedsResetLocked("queue " + std::to_string(i) + " is corrupt");
      return;
    }
  }
}

void MmioTransport::NeedsResetLocked(const std::string& reason) {
  if (status_ & kStatusNeedsReset) return;
  devices::GuestWarning("virtio device " + std::to_string(device_->DeviceType()) + ": " + reason +
                        "; it needs a reset");
  status_ |= kStatusNeedsReset;
  // virtio 1.x 2.1.2: once the driver has the device running, tell it with a configuration
  // change notification.
  if (status_ & kStatusDriverOk) SetInterruptStatus(interrupt_status_ | kInterruptConfigChange);
}

int MmioTransport::PollFd() const {
  std::lock_guard lock(mutex_);
  if (!(status_ & kStatusDriverOk) || (status_ & kStatusNeedsReset)) return -1;
  return device_->PollFd();
}

void MmioTransport::HandlePollReady() {
  std::lock_guard lock(mutex_);
  if (!(status_ & kStatusDriverOk) || (status_ & kStatusNeedsReset)) return;
  RaiseForUsed(device_->HandlePollReady(memory_, queues_));
  CheckQueuesLocked();
}

void MmioTransport::SetInterruptStatus(uint32_t status) {
  bool was = interrupt_status_ != 0, now = status != 0;
  interrupt_status_ = status;
  if (was != now) interrupt_.SetLevel(now);
  // Already high with more work done: the driver's handler reads the status and processes all
  // used buffers before acknowledging, so no new edge is needed.
}

void MmioTransport::ResetLocked() {
  for (Queue& q : queues_) q.Reset();
  device_->Reset();
  status_ = 0;
  driver_features_ = 0;
  device_features_select_ = driver_features_select_ = queue_select_ = 0;
  SetInterruptStatus(0);
}

}  // namespace hull::vmm::virtio
