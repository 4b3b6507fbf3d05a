// Block: virtio block device (device type 2) backed by a raw image file: read, write, flush,
// get id, discard and write-zeroes, optionally read-only. One request queue; requests are
// served synchronously with pread/pwrite on the notifying thread.
//
// Requests are guest-controlled: a header shorter than 16 bytes, a missing status byte, a
// sector range past the end of the disk or a write to a read-only disk fails that request
// (VIRTIO_BLK_S_IOERR / UNSUPP), never the VMM. Discard and write-zeroes take one segment;
// as the spec asks, a discard with the unmap flag and either with a reserved flag bit fail with
// UNSUPP; write-zeroes with unmap may punch a hole (reads give zeroes either way).
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "linux/unique_fd.h"
#include "vmm/devices/virtio/device.h"

namespace hull::vmm::virtio {

class Block : public VirtioDevice {
 public:
  static constexpr uint32_t kDeviceType = 2;
  static constexpr uint64_t kSectorSize = 512;
  // Feature bits (virtio 1.x, "Block Device").
  static constexpr uint64_t kFeatureSizeMax = 1ULL << 1, kFeatureSegMax = 1ULL << 2,
                            kFeatureReadOnly = 1ULL << 5, kFeatureBlockSize = 1ULL << 6,
                            kFeatureFlush = 1ULL << 9, kFeatureDiscard = 1ULL << 13,
                            kFeatureWriteZeroes = 1ULL << 14;
  // Request types and status values.
  static constexpr uint32_t kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4, kTypeGetId = 8,
                            kTypeDiscard = 11, kTypeWriteZeroes = 13;
  static constexpr uint8_t kStatusOk = 0, kStatusIoError = 1, kStatusUnsupported = 2;
  static constexpr uint32_t kSegmentUnmap = 1;  // discard / write-zeroes segment flag
  static constexpr size_t kIdLength = 20;

  // Opens `path` (read-write unless `read_only`) with device id `id` (at most kIdLength bytes;
  // empty: "hull-<device>-<inode>" of the file, cut to kIdLength); errors name the path.
  [[nodiscard]] static Result<std::unique_ptr<Block>> Open(const std::string& path, bool read_only,
                                                           std::string id = "");

  uint32_t DeviceType() const override { return kDeviceType; }
  uint64_t Features() const override;
  size_t QueueCount() const override { return 1; }
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override;
  uint32_t ProcessQueue(const memory::GuestMemory& memory, std::span<Queue> queues,
                        size_t index) override;

  uint64_t sectors() const { return size_ / kSectorSize; }

 private:
  Block(linux::UniqueFd fd, uint64_t size, bool read_only, std::string id)
      : fd_(std::move(fd)), size_(size), read_only_(read_only), id_(std::move(id)) {}
  // Serves one request; returns the status byte and adds to `written` the data bytes returned.
  uint8_t Serve(const memory::GuestMemory& memory, uint32_t type, uint64_t sector,
                const std::vector<Buffer>& data, uint32_t& written);
  bool ServeQueue(const memory::GuestMemory& memory, Queue& queue);

  linux::UniqueFd fd_;
  uint64_t size_;
  bool read_only_;
  std::string id_;
};

}  // namespace hull::vmm::virtio
