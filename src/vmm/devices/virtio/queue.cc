#include "vmm/devices/virtio/queue.h"

#include <atomic>

namespace hull::vmm::virtio {
namespace {

std::string Hex(uint64_t value) {
  char text[24];
  snprintf(text, sizeof(text), "%#llx", static_cast<unsigned long long>(value));
  return text;
}

uint64_t DriverRingBytes(uint16_t size) { return 4 + 2 * uint64_t{size} + 2; }
uint64_t DeviceRingBytes(uint16_t size) { return 4 + 8 * uint64_t{size} + 2; }

}  // namespace

uint64_t Chain::ReadableLength() const {
  uint64_t total = 0;
  for (const Buffer& b : readable) total += b.length;
  return total;
}

uint64_t Chain::WritableLength() const {
  uint64_t total = 0;
  for (const Buffer& b : writable) total += b.length;
  return total;
}

void Queue::Reset() {
  size_ = max_size_;
  ready_ = false;
  event_index_ = false;
  broken_ = false;
  descriptor_table_ = driver_ring_ = device_ring_ = 0;
  next_avail_ = next_used_ = signalled_used_ = 0;
}

tl::unexpected<Error> Queue::Break(std::string message) {
  broken_ = true;
  return Fail(std::move(message));
}

Result<void> Queue::Validate(const memory::GuestMemory& memory) const {
  if (size_ == 0 || size_ > max_size_ || (size_ & (size_ - 1)) != 0)
    return Fail("queue size " + std::to_string(size_) + " is not a power of two up to " +
                std::to_string(max_size_));
  if (descriptor_table_ % 16 || driver_ring_ % 2 || device_ring_ % 4)
    return Fail("queue areas are misaligned");
  TRY_CTX(memory.Translate(descriptor_table_, uint64_t{size_} * sizeof(Descriptor)),
          "descriptor table");
  TRY_CTX(memory.Translate(driver_ring_, DriverRingBytes(size_)), "driver ring");
  TRY_CTX(memory.Translate(device_ring_, DeviceRingBytes(size_)), "device ring");
  return {};
}

Result<std::optional<PoppedChain>> Queue::PopChain(const memory::GuestMemory& memory) {
  if (!ready_) return std::nullopt;
  if (broken_) return Fail("the queue is broken until the driver resets the device");
  auto read_index = [&]() -> Result<uint16_t> {
    // The driver publishes descriptors before the index; acquire after reading it.
    auto index = memory.ReadObject<uint16_t>(driver_ring_ + 2);  // guest-controlled
    std::atomic_thread_fence(std::memory_order_acquire);
    if (!index) return Break("driver ring index: " + index.error().ToString());
    return *index;
  };
  uint16_t avail_index = TRY(read_index());
  uint16_t pending = static_cast<uint16_t>(avail_index - next_avail_);
  if (pending == 0 && event_index_) {
    // Caught up: ask the driver to notify when it adds the next chain (avail_event), then look
    // again, since it may have added one before it could see the request.
    if (!memory.WriteObject<uint16_t>(device_ring_ + 4 + 8 * uint64_t{size_}, next_avail_))
      return Break("device ring avail_event is not writable");
    std::atomic_thread_fence(std::memory_order_seq_cst);
    avail_index = TRY(read_index());
    pending = static_cast<uint16_t>(avail_index - next_avail_);
  }
  if (pending == 0) return std::nullopt;
  if (pending > size_) {
    return Break("driver ring index " + std::to_string(avail_index) + " is " +
                 std::to_string(pending) + " entries ahead, more than the queue size " +
                 std::to_string(size_));
  }
  uint64_t slot = driver_ring_ + 4 + 2 * uint64_t{static_cast<uint16_t>(next_avail_ % size_)};
  auto head = memory.ReadObject<uint16_t>(slot);  // guest-controlled
  if (!head) return Break("driver ring entry: " + head.error().ToString());
  ++next_avail_;
  return PoppedChain{*head, ReadChain(memory, *head)};
}

Result<Chain> Queue::ReadChain(const memory::GuestMemory& memory, uint16_t head) const {
  Chain chain;
  chain.head = head;
  uint16_t index = head;
  for (uint32_t count = 0;; ++count) {
    if (index >= size_) return Fail("descriptor index " + std::to_string(index) + " out of range");
    if (count >= size_) return Fail("descriptor chain loops or is longer than the queue");
    Descriptor d = TRY(memory.ReadObject<Descriptor>(descriptor_table_ + uint64_t{index} * 16));
    if (d.flags & kDescriptorIndirect) return Fail("indirect descriptors were not negotiated");
    if (d.length > 0 && !memory.Translate(d.address, d.length)) {
      return Fail("descriptor " + std::to_string(index) + " buffer " + Hex(d.address) + "+" +
                  Hex(d.length) + " is outside guest RAM");
    }
    Buffer buffer{d.address, d.length, (d.flags & kDescriptorWrite) != 0};
    if (buffer.device_writable) {
      chain.writable.push_back(buffer);
    } else {
      if (!chain.writable.empty()) return Fail("device-readable descriptor after a writable one");
      chain.readable.push_back(buffer);
    }
    if (!(d.flags & kDescriptorNext)) break;
    index = d.next;
  }
  return chain;
}

Result<void> Queue::AddUsed(const memory::GuestMemory& memory, uint16_t head, uint32_t written) {
  if (broken_) return Fail("the queue is broken until the driver resets the device");
  uint64_t slot = device_ring_ + 4 + 8 * uint64_t{static_cast<uint16_t>(next_used_ % size_)};
  struct {
    uint32_t id;
    uint32_t length;
  } element{head, written};
  if (auto r = memory.WriteObject(slot, element); !r)
    return Break("device ring entry: " + r.error().ToString());
  ++next_used_;
  // The element must be visible before the index that publishes it.
  std::atomic_thread_fence(std::memory_order_release);
  if (auto r = memory.WriteObject<uint16_t>(device_ring_ + 2, next_used_); !r)
    return Break("device ring index: " + r.error().ToString());
  return {};
}

bool Queue::NeedsInterrupt(const memory::GuestMemory& memory) {
  // The used index must be visible before the driver's suppression state is read.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!event_index_) {
    auto flags = memory.ReadObject<uint16_t>(driver_ring_);  // guest-controlled
    return !flags || !(*flags & kAvailNoInterrupt);
  }
  // Interrupt if used_event lies in [previous used index, new used index): the driver asked to
  // hear about the used buffer at that position and it is among the ones just added.
  uint16_t previous = signalled_used_;
  signalled_used_ = next_used_;
  auto used_event = memory.ReadObject<uint16_t>(driver_ring_ + 4 + 2 * uint64_t{size_});
  if (!used_event) return true;
  return static_cast<uint16_t>(next_used_ - *used_event - 1) <
         static_cast<uint16_t>(next_used_ - previous);
}

Result<void> ReadFromBuffers(const memory::GuestMemory& memory, const std::vector<Buffer>& buffers,
                             uint64_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  for (const Buffer& b : buffers) {
    if (done == out.size()) break;
    if (offset >= b.length) {
      offset -= b.length;
      continue;
    }
    size_t n = std::min<uint64_t>(b.length - offset, out.size() - done);
    TRY(memory.Read(b.address + offset, out.subspan(done, n)));
    done += n;
    offset = 0;
  }
  if (done < out.size()) return Fail("buffers are shorter than the request needs");
  return {};
}

Result<void> WriteToBuffers(const memory::GuestMemory& memory, const std::vector<Buffer>& buffers,
                            uint64_t offset, std::span<const uint8_t> in) {
  size_t done = 0;
  for (const Buffer& b : buffers) {
    if (done == in.size()) break;
    if (offset >= b.length) {
      offset -= b.length;
      continue;
    }
    size_t n = std::min<uint64_t>(b.length - offset, in.size() - done);
    TRY(memory.Write(b.address + offset, in.subspan(done, n)));
    done += n;
    offset = 0;
  }
  if (done < in.size()) return Fail("buffers are shorter than the response needs");
  return {};
}

}  // namespace hull::vmm::virtio
