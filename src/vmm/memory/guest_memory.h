// GuestMemory: the guest's physical RAM as a set of host mappings, with bounds-checked access.
//
// Guest physical addresses (GPAs) reaching this class are often guest-controlled (descriptor
// addresses, boot protocol pointers): every access is checked, and an address outside RAM (or an
// access crossing the end of a region) is an error, never a crash.
//
// Layout on x86_64: RAM starts at GPA 0 and runs up to the MMIO gap [kMmioGapStart, 4 GiB); RAM
// beyond the gap's start continues at 4 GiB.
//
// Ownership: Create() owns its mappings (anonymous or memfd, unmapped on destruction). FromHost()
// wraps memory the caller owns, so device models can be tested over a plain buffer.
// Thread-safety: the region table is immutable after construction; Read/Write/Translate may be
// called from any thread. Concurrent accesses to the same bytes are the callers' (and the
// guest's) business, as on real hardware.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::vmm::memory {

inline constexpr uint64_t kMiB = 1ULL << 20;
inline constexpr uint64_t kGiB = 1ULL << 30;
// Guest physical range reserved for device MMIO (and the KVM TSS/identity map pages, the LAPIC
// at 0xfee00000 and the IOAPIC at 0xfec00000), never RAM.
inline constexpr uint64_t kMmioGapStart = 3 * kGiB;
inline constexpr uint64_t kMmioGapEnd = 4 * kGiB;
// Host mappings of guest RAM start at this alignment (the x86_64 huge page size).
inline constexpr uint64_t kHostAlignment = 2 * kMiB;

struct Region {
  uint64_t guest_address;
  uint64_t size;
  uint8_t* host;  // start of the host mapping of this region
};

// Splits `size` bytes of RAM around the MMIO gap (pure; for the e820 map and tests).
std::vector<std::pair<uint64_t, uint64_t>> RamRanges(uint64_t size);

struct MemoryOptions {
  uint64_t size = 0;       // bytes, a multiple of 4 KiB (2 MiB with huge pages)
  bool memfd = false;      // back with a memfd instead of anonymous memory
  bool hugepages = false;  // MAP_HUGETLB / MFD_HUGETLB (needs reserved huge pages on the host)
  bool transparent_hugepages = true;  // madvise(MADV_HUGEPAGE) where hugepages is off
};

class GuestMemory {
 public:
  [[nodiscard]] static Result<GuestMemory> Create(const MemoryOptions& options);
  // Wraps caller-owned host memory as the given regions (must be sorted, non-overlapping).
  static GuestMemory FromHost(std::vector<Region> regions);

  ~GuestMemory();
  GuestMemory(GuestMemory&& other) noexcept;
  GuestMemory& operator=(GuestMemory&& other) noexcept;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  const std::vector<Region>& regions() const { return regions_; }
  uint64_t size() const;
  // The memfd backing the memory, or -1 (remains owned by this object).
  int memfd() const { return memfd_.get(); }

  // A host pointer to `length` bytes at `address`, all within one region; an error otherwise.
  [[nodiscard]] Result<uint8_t*> Translate(uint64_t address, uint64_t length) const;
  // Copies to/from guest memory; the range may span adjacent regions but not any hole.
  [[nodiscard]] Result<void> Read(uint64_t address, std::span<uint8_t> out) const;
  [[nodiscard]] Result<void> Write(uint64_t address, std::span<const uint8_t> in) const;
  // Zeroes a range.
  [[nodiscard]] Result<void> Fill(uint64_t address, uint64_t length, uint8_t value) const;

  template <typename T>
  [[nodiscard]] Result<T> ReadObject(uint64_t address) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    TRY(Read(address, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&value), sizeof(T))));
    return value;
  }
  template <typename T>
  [[nodiscard]] Result<void> WriteObject(uint64_t address, const T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    return Write(address,
                 std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }

 private:
  GuestMemory() = default;
  void Release();

  std::vector<Region> regions_;
  std::vector<std::pair<void*, size_t>> mappings_;  // owned host mappings
  linux::UniqueFd memfd_;
};

}  // namespace hull::vmm::memory
