// Queue: the device side of one split virtqueue (virtio 1.x, "Split Virtqueues") in guest
// memory: the descriptor table, the driver ("available") ring and the device ("used") ring.
//
// Everything read from the rings is guest-controlled. PopChain() validates a whole chain before
// a device sees it: indices inside the table, no loops, no chain longer than the queue, every
// buffer inside guest RAM, device-writable buffers only after device-readable ones. A bad chain
// is returned as an error (the caller completes it with length 0 and logs), never a crash.
// A broken ring (the driver's index running more than the queue size ahead, a ring that
// cannot be read or written) is different: nothing in it can be trusted any more, so the queue
// marks itself broken and refuses further work until the driver resets it; the transport then
// sets DEVICE_NEEDS_RESET (virtio 1.x, 2.1.2).
//
// With VIRTIO_RING_F_EVENT_IDX ("Used Buffer Notification Suppression" / "Available Buffer
// Notification Suppression") the queue honours the driver's used_event when deciding on an
// interrupt and publishes avail_event so that the driver notifies only when the device has
// caught up with the driver ring.
//
// Thread-safety: not thread-safe; the transport serialises access to a queue.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/error.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::virtio {

inline constexpr uint16_t kDescriptorNext = 1;
inline constexpr uint16_t kDescriptorWrite = 2;
inline constexpr uint16_t kDescriptorIndirect = 4;
inline constexpr uint16_t kAvailNoInterrupt = 1;
inline constexpr uint64_t kFeatureEventIndex = 1ULL << 29;  // VIRTIO_RING_F_EVENT_IDX

struct Descriptor {
  uint64_t address;
  uint32_t length;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

// One buffer of a validated chain.
struct Buffer {
  uint64_t address;
  uint32_t length;
  bool device_writable;
};

struct Chain {
  uint16_t head;                 // the index to return in the used ring
  std::vector<Buffer> readable;  // driver -> device, in order
  std::vector<Buffer> writable;  // device -> driver, in order
  uint64_t ReadableLength() const;
  uint64_t WritableLength() const;
};

// Result of PopChain: the head index is known even when the chain is bad, so the caller can
// complete it.
struct PoppedChain {
  uint16_t head;
  Result<Chain> chain;
};

class Queue {
 public:
  static constexpr uint16_t kMaxSize = 256;

  explicit Queue(uint16_t max_size = kMaxSize) : max_size_(max_size), size_(max_size) {}

  // Driver-set configuration (through the transport).
  uint16_t max_size() const { return max_size_; }
  uint16_t size() const { return size_; }
  void set_size(uint16_t size) { size_ = size; }
  bool ready() const { return ready_; }
  void set_ready(bool ready) { ready_ = ready; }
  // Whether VIRTIO_RING_F_EVENT_IDX was negotiated (set by the transport at DRIVER_OK).
  void set_event_index(bool enabled) { event_index_ = enabled; }
  // True once the ring itself was found corrupt; stays so until Reset().
  bool broken() const { return broken_; }
  uint64_t& descriptor_table() { return descriptor_table_; }
  uint64_t& driver_ring() { return driver_ring_; }
  uint64_t& device_ring() { return device_ring_; }
  void Reset();

  // Checks the driver's configuration: size a power of two not above max, areas aligned and in RAM.
  [[nodiscard]] Result<void> Validate(const memory::GuestMemory& memory) const;

  // Takes the next available chain, if any (none while the queue is not ready). An error in the
  // ring itself (not in one chain) is a Result error on the outer level and breaks the queue.
  [[nodiscard]] Result<std::optional<PoppedChain>> PopChain(const memory::GuestMemory& memory);
  // Gives back the chain the last PopChain() returned, unused, so that the next PopChain()
  // returns it again (for devices that find they have nothing to put in it after all).
  void UndoPop() { --next_avail_; }
  // Puts `head` in the used ring with `written` bytes written to its writable buffers; a
  // failure breaks the queue.
  [[nodiscard]] Result<void> AddUsed(const memory::GuestMemory& memory, uint16_t head,
                                     uint32_t written);
  // Whether the driver wants an interrupt for the used buffers added since the last call:
  // VRING_AVAIL_F_NO_INTERRUPT clear, or with EVENT_IDX the used index passing used_event.
  // Call once per batch of used buffers (it remembers what it was last asked about).
  bool NeedsInterrupt(const memory::GuestMemory& memory);

 private:
  [[nodiscard]] Result<Chain> ReadChain(const memory::GuestMemory& memory, uint16_t head) const;
  // Records a ring-level error and returns it.
  tl::unexpected<Error> Break(std::string message);

  uint16_t max_size_;
  uint16_t size_;
  bool ready_ = false;
  bool event_index_ = false;
  bool broken_ = false;
  uint64_t descriptor_table_ = 0;
  uint64_t driver_ring_ = 0;
  uint64_t device_ring_ = 0;
  uint16_t next_avail_ = 0;      // the next driver ring slot to consume
  uint16_t next_used_ = 0;       // the next device ring slot to fill
  uint16_t signalled_used_ = 0;  // next_used_ when NeedsInterrupt() was last asked (EVENT_IDX)
};

// Copies between guest buffers and host memory, across buffer boundaries.
[[nodiscard]] Result<void> ReadFromBuffers(const memory::GuestMemory& memory,
                                           const std::vector<Buffer>& buffers, uint64_t offset,
                                           std::span<uint8_t> out);
[[nodiscard]] Result<void> WriteToBuffers(const memory::GuestMemory& memory,
                                          const std::vector<Buffer>& buffers, uint64_t offset,
                                          std::span<const uint8_t> in);

}  // namespace hull::vmm::virtio
