#include "vmm/devices/virtio/block.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/log.h"
#include "vmm/devices/guest_log.h"

namespace hull::vmm::virtio {
namespace {

constexpr uint32_t kMaxSegmentBytes = 1 << 20;  // size_max we announce for one buffer
constexpr uint32_t kMaxSegments = 126;          // seg_max: queue size minus header and status

struct RequestHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};

struct DiscardSegment {
  uint64_t sector;
  uint32_t sectors;
  uint32_t flags;
};

template <typename T>
void Put(std::vector<uint8_t>& out, size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof(T));
}

}  // namespace

Result<std::unique_ptr<Block>> Block::Open(const std::string& path, bool read_only,
                                           std::string id) {
  if (id.size() > kIdLength) {
    return Fail("disk " + Quote(path) + ": id " + Quote(id) + " is longer than " +
                std::to_string(kIdLength) + " bytes");
  }
  int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return FailErrno("disk: open " + Quote(path) + (read_only ? "" : " read-write"));
  linux::UniqueFd owned(fd);
  struct stat st;
  if (::fstat(fd, &st) < 0) return FailErrno("disk: stat " + Quote(path));
  if (!S_ISREG(st.st_mode)) return Fail("disk " + Quote(path) + ": not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (id.empty()) {
    // The default id: the file's device and inode, which identify it on this host.
    id = "hull-" + std::to_string(st.st_dev) + "-" + std::to_string(st.st_ino);
    id.resize(std::min(id.size(), kIdLength));
  }
  return std::unique_ptr<Block>(new Block(std::move(owned), size, read_only, std::move(id)));
}

uint64_t Block::Features() const {
  uint64_t features = kFeatureSizeMax | kFeatureSegMax | kFeatureFlush | kFeatureBlockSize;
  if (read_only_)
    features |= kFeatureReadOnly;
  else
    features |= kFeatureDiscard | kFeatureWriteZeroes;
  return features;
}

void Block::ReadConfig(uint64_t offset, std::span<uint8_t> data) const {
  // struct virtio_blk_config up to the write-zeroes fields (60 bytes).
  std::vector<uint8_t> config(60, 0);
  Put<uint64_t>(config, 0, sectors());          // capacity
  Put<uint32_t>(config, 8, kMaxSegmentBytes);   // size_max
  Put<uint32_t>(config, 12, kMaxSegments);      // seg_max
  Put<uint32_t>(config, 20, 512);               // blk_size
  Put<uint32_t>(config, 36, 0xffffffffu >> 9);  // max_discard_sectors
  Put<uint32_t>(config, 40, 1);                 // max_discard_seg
  Put<uint32_t>(config, 44, 1);                 // discard_sector_alignment
  Put<uint32_t>(config, 48, 0xffffffffu >> 9);  // max_write_zeroes_sectors
  Put<uint32_t>(config, 52, 1);                 // max_write_zeroes_seg
  config[56] = 1;                               // write_zeroes_may_unmap
  ReadConfigBytes(config, offset, data);
}

uint8_t Block::Serve(const memory::GuestMemory& memory, uint32_t type, uint64_t sector,
                     const std::vector<Buffer>& data, uint32_t& written) {
  auto in_range = [&](uint64_t first, uint64_t bytes) {
    return first <= sectors() && bytes <= size_ - first * kSectorSize;
  };
  switch (type) {
    case kTypeIn: {
      uint64_t offset = sector * kSectorSize;
      uint64_t total = 0;
      for (const Buffer& b : data) total += b.length;
      if (!in_range(sector, total)) return kStatusIoError;
      for (const Buffer& b : data) {
        uint8_t* host = memory.Translate(b.address, b.length).value_or(nullptr);
        if (host == nullptr && b.length) return kStatusIoError;
        uint64_t done = 0;
        while (done < b.length) {
          ssize_t n =
              ::pread(fd_.get(), host + done, b.length - done, static_cast<off_t>(offset + done));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) return kStatusIoError;
          done += static_cast<uint64_t>(n);
        }
        offset += b.length;
        written += b.length;
      }
      return kStatusOk;
    }
    case kTypeOut: {
      if (read_only_) return kStatusIoError;
      uint64_t offset = sector * kSectorSize;
      uint64_t total = 0;
      for (const Buffer& b : data) total += b.length;
      if (!in_range(sector, total)) return kStatusIoError;
      for (const Buffer& b : data) {
        const uint8_t* host = memory.Translate(b.address, b.length).value_or(nullptr);
        if (host == nullptr && b.length) return kStatusIoError;
        uint64_t done = 0;
        while (done < b.length) {
          ssize_t n =
              ::pwrite(fd_.get(), host + done, b.length - done, static_cast<off_t>(offset + done));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) return kStatusIoError;
          done += static_cast<uint64_t>(n);
        }
        offset += b.length;
      }
      return kStatusOk;
    }
    case kTypeFlush:
      return ::fdatasync(fd_.get()) == 0 ? kStatusOk : kStatusIoError;
    case kTypeGetId: {
      std::vector<uint8_t> id(kIdLength, 0);
      std::memcpy(id.data(), id_.data(), std::min(id_.size(), kIdLength));
      uint64_t room = 0;
      for (const Buffer& b : data) room += b.length;
      id.resize(std::min<uint64_t>(room, kIdLength));
      if (!WriteToBuffers(memory, data, 0, id)) return kStatusIoError;
      written += static_cast<uint32_t>(id.size());
      return kStatusOk;
    }
    case kTypeDiscard:
    case kTypeWriteZeroes: {
      if (read_only_) return kStatusIoError;
      // Segments of {sector, sectors, flags}; we announce one per request (max_discard_seg,
      // max_write_zeroes_seg).
      uint64_t total = 0;
      for (const Buffer& b : data) total += b.length;
      if (total == 0 || total % sizeof(DiscardSegment) != 0) return kStatusIoError;
      if (total > sizeof(DiscardSegment)) return kStatusUnsupported;
      DiscardSegment segment;  // guest-controlled
      if (!ReadFromBuffers(memory, data, 0,
                           std::span(reinterpret_cast<uint8_t*>(&segment), sizeof(segment)))) {
        return kStatusIoError;
      }
      // Reserved flag bits fail either request; "unmap" is only defined for write-zeroes.
      if (segment.flags & ~kSegmentUnmap) return kStatusUnsupported;
      bool unmap = (segment.flags & kSegmentUnmap) != 0;
      if (type == kTypeDiscard && unmap) return kStatusUnsupported;
      uint64_t bytes = uint64_t{segment.sectors} * kSectorSize;
      if (!in_range(segment.sector, bytes)) return kStatusIoError;
      off_t start = static_cast<off_t>(segment.sector * kSectorSize);
      constexpr int kPunch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
      if (type == kTypeDiscard) {
        (void)::fallocate(fd_.get(), kPunch, start, static_cast<off_t>(bytes));
        return kStatusOk;  // discard is a hint
      }
      // Write-zeroes: a hole reads as zeroes too, so with unmap punching one will do.
      if (unmap && ::fallocate(fd_.get(), kPunch, start, static_cast<off_t>(bytes)) == 0)
        return kStatusOk;
      if (::fallocate(fd_.get(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, start,
                      static_cast<off_t>(bytes)) == 0) {
        return kStatusOk;
      }
      // No ZERO_RANGE on this filesystem: write zeroes.
      std::vector<uint8_t> zeroes(std::min<uint64_t>(bytes, 1 << 20), 0);
      for (uint64_t done = 0; done < bytes;) {
        size_t chunk = std::min<uint64_t>(zeroes.size(), bytes - done);
        ssize_t n = ::pwrite(fd_.get(), zeroes.data(), chunk,
                             static_cast<off_t>(segment.sector * kSectorSize + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return kStatusIoError;
        done += static_cast<uint64_t>(n);
      }
      return kStatusOk;
    }
    default:
      return kStatusUnsupported;
  }
}

uint32_t Block::ProcessQueue(const memory::GuestMemory& memory, std::span<Queue> queues,
                             size_t index) {
  return index < queues.size() && ServeQueue(memory, queues[index]) ? 1u << index : 0;
}

bool Block::ServeQueue(const memory::GuestMemory& memory, Queue& queue) {
  bool used = false;
  while (true) {
    auto popped = queue.PopChain(memory);
    if (!popped) {
      devices::GuestWarning("virtio-blk: " + popped.error().ToString());
      return used;
    }
    if (!*popped) return used;
    uint32_t written = 0;
    const Result<Chain>& chain = (*popped)->chain;
    if (!chain) {
      devices::GuestWarning("virtio-blk: bad request: " + chain.error().ToString());
    } else {
      // Layout: header (readable), data buffers (readable for OUT/discard, writable for IN and
      // GET_ID), then the status byte (the last writable byte).
      RequestHeader header{};
      bool header_ok =
          chain->ReadableLength() >= sizeof(header) &&
          ReadFromBuffers(memory, chain->readable, 0,
                          std::span(reinterpret_cast<uint8_t*>(&header), sizeof(header)))
              .has_value();
      if (!header_ok || chain->writable.empty() || chain->writable.back().length == 0) {
        devices::GuestWarning("virtio-blk: request without a header or status byte");
      } else {
        // Split off the status byte and the header's share of the readable buffers.
        std::vector<Buffer> writable = chain->writable;
        Buffer status = writable.back();
        writable.pop_back();
        if (status.length > 1) writable.push_back({status.address, status.length - 1, true});
        uint64_t status_address = status.address + status.length - 1;
        std::vector<Buffer> readable;
        uint64_t skip = sizeof(header);
        for (Buffer b : chain->readable) {
          if (skip >= b.length) {
            skip -= b.length;
            continue;
          }
          b.address += skip;
          b.length -= static_cast<uint32_t>(skip);
          skip = 0;
          readable.push_back(b);
        }
        bool device_writes = header.type == kTypeIn || header.type == kTypeGetId;
        bool wrong_direction = device_writes ? !readable.empty() : !writable.empty();
        uint8_t result = wrong_direction ? kStatusIoError
                                         : Serve(memory, header.type, header.sector,
                                                 device_writes ? writable : readable, written);
        if (memory.WriteObject<uint8_t>(status_address, result)) written += 1;
      }
    }
    if (auto r = queue.AddUsed(memory, (*popped)->head, written); !r) {
      devices::GuestWarning("virtio-blk: " + r.error().ToString());
      return used;
    }
    used = true;
  }
}

}  // namespace hull::vmm::virtio
