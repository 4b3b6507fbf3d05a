#include "vmm/memory/guest_memory.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/strings.h"
#include "linux/file.h"

namespace hull::vmm::memory {
namespace {

std::string Hex(uint64_t value) {
  char text[24];
  snprintf(text, sizeof(text), "%#llx", static_cast<unsigned long long>(value));
  return text;
}

// Maps `size` bytes at a host address aligned to kHostAlignment, so that the host address and
// the guest physical address of every byte agree modulo 2 MiB (regions start at 0 and 4 GiB).
// KVM backs a guest range with 2 MiB nested page-table entries only when both are aligned alike
// and the host memory behind it is a huge page; otherwise every 4 KiB page the guest touches
// costs a nested page fault (a Debian kernel's boot: ~29,000 of them instead of ~1,500).
void* MapAligned(uint64_t size, int flags, int fd, off_t offset) {
  void* reservation = ::mmap(nullptr, size + kHostAlignment, PROT_NONE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reservation == MAP_FAILED) return MAP_FAILED;
  auto start = reinterpret_cast<uintptr_t>(reservation);
  uintptr_t aligned = (start + kHostAlignment - 1) & ~(kHostAlignment - 1);
  void* host = ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ | PROT_WRITE,
                      flags | MAP_FIXED, fd, offset);
  if (host == MAP_FAILED) {
    int saved = errno;
    ::munmap(reservation, size + kHostAlignment);
    errno = saved;
    return MAP_FAILED;
  }
  if (aligned > start) ::munmap(reservation, aligned - start);
  uintptr_t end = aligned + size;
  uintptr_t reservation_end = start + size + kHostAlignment;
  if (reservation_end > end) ::munmap(reinterpret_cast<void*>(end), reservation_end - end);
  return host;
}

constexpr uint64_t kHugePageSize = 2 * kMiB;

// The host's 2 MiB pool as "/proc/sys/vm/nr_hugepages has N (M free)", for the error when it
// cannot back the guest.
std::string HugePagePool() {
  std::string total(Trim(linux::ReadFile("/proc/sys/vm/nr_hugepages").value_or("?")));
  std::string free = "?";
  std::string meminfo = linux::ReadFile("/proc/meminfo").value_or("");
  if (size_t at = meminfo.find("HugePages_Free:"); at != std::string::npos) {
    size_t end = meminfo.find('\n', at);
    free =
        std::string(Trim(meminfo.substr(at + 15, end == std::string::npos ? end : end - at - 15)));
  }
  return "/proc/sys/vm/nr_hugepages has " + total + " (" + free + " free)";
}

Error HugePagesShort(int error, uint64_t size) {
  return Error(error, "hugepages: " + std::to_string(size >> 20) +
                          " MiB of 2 MiB huge pages needed (" +
                          std::to_string(size / kHugePageSize) + " pages), " + HugePagePool());
}

}  // namespace

std::vector<std::pair<uint64_t, uint64_t>> RamRanges(uint64_t size) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  if (size == 0) return ranges;
  uint64_t low = std::min(size, kMmioGapStart);
  ranges.emplace_back(0, low);
  if (size > low) ranges.emplace_back(kMmioGapEnd, size - low);
  return ranges;
}

Result<GuestMemory> GuestMemory::Create(const MemoryOptions& options) {
  uint64_t page = options.hugepages ? kHugePageSize : 4096;
  if (options.size == 0 || options.size % page != 0) {
    return Fail("guest memory size " + std::to_string(options.size) +
                " must be a non-zero multiple of " + std::to_string(page));
  }
  GuestMemory memory;
  // Normal pages: address space only, the host provides pages as the guest touches them. Huge
  // pages come from the host's reserved pool instead, and must be taken from it now: with
  // MAP_NORESERVE a hugetlb mapping succeeds without a reservation, and the first touch of a page
  // the pool does not have kills the whole VMM with SIGBUS. Without it, mmap reserves the pages
  // and fails with ENOMEM when the pool is short.
  int flags = options.hugepages ? 0 : MAP_NORESERVE;
  if (options.memfd) {
    unsigned memfd_flags = MFD_CLOEXEC | (options.hugepages ? MFD_HUGETLB : 0);
    int fd = ::memfd_create("hull-guest-ram", memfd_flags);
    if (fd < 0)
      return FailErrno(std::string("memfd_create for guest memory") +
                       (options.hugepages ? " (huge pages)" : ""));
    memory.memfd_.reset(fd);
    if (::ftruncate(fd, static_cast<off_t>(options.size)) < 0)
      return FailErrno("ftruncate guest memory memfd");
    // A hugetlb file's pages are allocated (and counted against the pool) by fallocate, so a
    // short pool is an error here rather than a SIGBUS later.
    if (options.hugepages && ::fallocate(fd, 0, 0, static_cast<off_t>(options.size)) < 0)
      return tl::unexpected(HugePagesShort(errno, options.size));
    flags |= MAP_SHARED;
  } else {
    flags |= MAP_PRIVATE | MAP_ANONYMOUS | (options.hugepages ? MAP_HUGETLB : 0);
  }
  uint64_t offset = 0;
  for (auto [guest_address, size] : RamRanges(options.size)) {
    void* host = MapAligned(size, flags, options.memfd ? memory.memfd_.get() : -1,
                            static_cast<off_t>(offset));
    if (host == MAP_FAILED) {
      if (options.hugepages && errno == ENOMEM)
        return tl::unexpected(HugePagesShort(errno, options.size));
      return FailErrno("mmap " + std::to_string(size >> 20) + " MiB of guest memory" +
                       (options.hugepages ? " (huge pages)" : ""));
    }
    memory.mappings_.emplace_back(host, size);
    // Transparent huge pages where the host offers them on request (THP "madvise", Debian's
    // default), as QEMU and Cloud Hypervisor do; a host without THP just says no.
    if (!options.hugepages && options.transparent_hugepages) ::madvise(host, size, MADV_HUGEPAGE);
    memory.regions_.push_back(Region{guest_address, size, static_cast<uint8_t*>(host)});
    offset += size;
  }
  return memory;
}

GuestMemory GuestMemory::FromHost(std::vector<Region> regions) {
  GuestMemory memory;
  memory.regions_ = std::move(regions);
  return memory;
}

GuestMemory::~GuestMemory() { Release(); }

void GuestMemory::Release() {
  for (auto [host, size] : mappings_) ::munmap(host, size);
  mappings_.clear();
  regions_.clear();
}

GuestMemory::GuestMemory(GuestMemory&& other) noexcept
    : regions_(std::move(other.regions_)),
      mappings_(std::move(other.mappings_)),
      memfd_(std::move(other.memfd_)) {
  other.regions_.clear();
  other.mappings_.clear();
}

GuestMemory& GuestMemory::operator=(GuestMemory&& other) noexcept {
  if (this != &other) {
    Release();
    regions_ = std::exchange(other.regions_, {});
    mappings_ = std::exchange(other.mappings_, {});
    memfd_ = std::move(other.memfd_);
  }
  return *this;
}

uint64_t GuestMemory::size() const {
  uint64_t total = 0;
  for (const Region& r : regions_) total += r.size;
  return total;
}

Result<uint8_t*> GuestMemory::Translate(uint64_t address, uint64_t length) const {
  for (const Region& r : regions_) {
    if (address >= r.guest_address && address - r.guest_address < r.size) {
      uint64_t offset = address - r.guest_address;
      if (length > r.size - offset) {
        return Fail("guest range " + Hex(address) + "+" + Hex(length) + " runs past RAM");
      }
      return r.host + offset;
    }
  }
  return Fail("guest address " + Hex(address) + " is not RAM");
}

namespace {

// Splits [address, address + length) into per-region host chunks. Checks the whole range first
// so that a failed access changes nothing.
Result<std::vector<std::pair<uint8_t*, uint64_t>>> Chunks(const std::vector<Region>& regions,
                                                          uint64_t address, uint64_t length) {
  std::vector<std::pair<uint8_t*, uint64_t>> chunks;
  if (length == 0) return chunks;
  if (address + length < address)
    return Fail("guest range " + Hex(address) + "+" + Hex(length) + " overflows");
  uint64_t at = address, left = length;
  while (left > 0) {
    const Region* region = nullptr;
    for (const Region& r : regions)
      if (at >= r.guest_address && at - r.guest_address < r.size) region = &r;
    if (region == nullptr) {
      return Fail("guest range " + Hex(address) + "+" + Hex(length) + " is not RAM at " + Hex(at));
    }
    uint64_t offset = at - region->guest_address;
    uint64_t chunk = std::min(left, region->size - offset);
    chunks.emplace_back(region->host + offset, chunk);
    at += chunk;
    left -= chunk;
  }
  return chunks;
}

}  // namespace

Result<void> GuestMemory::Read(uint64_t address, std::span<uint8_t> out) const {
  uint8_t* to = out.data();
  for (auto [host, size] : TRY(Chunks(regions_, address, out.size()))) {
    std::memcpy(to, host, size);
    to += size;
  }
  return {};
}

Result<void> GuestMemory::Write(uint64_t address, std::span<const uint8_t> in) const {
  const uint8_t* from = in.data();
  for (auto [host, size] : TRY(Chunks(regions_, address, in.size()))) {
    std::memcpy(host, from, size);
    from += size;
  }
  return {};
}

Result<void> GuestMemory::Fill(uint64_t address, uint64_t length, uint8_t value) const {
  for (auto [host, size] : TRY(Chunks(regions_, address, length))) std::memset(host, value, size);
  return {};
}

}  // namespace hull::vmm::memory
