#include "vmm/devices/bus.h"

#include <algorithm>

namespace hull::vmm::devices {

Result<void> IoBus::Register(uint64_t base, uint64_t length, std::shared_ptr<BusDevice> device,
                             std::string name) {
  if (length == 0 || base + length < base) return Fail("device " + Quote(name) + ": bad range");
  for (const Range& r : ranges_) {
    if (base < r.base + r.length && r.base < base + length) {
      return Fail("device " + Quote(name) + " overlaps device " + Quote(r.name));
    }
  }
  auto at = std::lower_bound(ranges_.begin(), ranges_.end(), base,
                             [](const Range& r, uint64_t b) { return r.base < b; });
  ranges_.insert(at, Range{base, length, std::move(device), std::move(name)});
  return {};
}

const IoBus::Range* IoBus::Find(uint64_t address, uint64_t size) const {
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                                [](uint64_t a, const Range& r) { return a < r.base; });
  if (after == ranges_.begin()) return nullptr;
  const Range& r = *(after - 1);
  uint64_t offset = address - r.base;
  if (offset >= r.length || size > r.length - offset) return nullptr;
  return &r;
}

bool IoBus::Read(uint64_t address, std::span<uint8_t> data) const {
  const Range* r = Find(address, data.size());
  if (r == nullptr) {
    std::fill(data.begin(), data.end(), 0xff);
    return false;
  }
  r->device->Read(address - r->base, data);
  return true;
}

bool IoBus::Write(uint64_t address, std::span<const uint8_t> data) const {
  const Range* r = Find(address, data.size());
  if (r == nullptr) return false;
  r->device->Write(address - r->base, data);
  return true;
}

}  // namespace hull::vmm::devices
