// IoBus: routes guest port I/O or MMIO accesses to the device models registered for an address
// range. hull-vmm has one bus for ports and one for MMIO.
//
// Thread-safety: Register() is called while building the VM, before any vCPU runs; afterwards
// the range table is read-only and Read()/Write() may be called from all vCPU threads at once.
// Device models therefore get concurrent calls and serialise their own state.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace hull::vmm::devices {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // `offset` is relative to the registered base; `data.size()` is the access width (1, 2, 4 or
  // 8, or longer for MMIO). The access and its data are guest-controlled. May be called from
  // several vCPU threads concurrently.
  virtual void Read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void Write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

class IoBus {
 public:
  // Adds `device` for [base, base + length). Overlapping another range is an error.
  [[nodiscard]] Result<void> Register(uint64_t base, uint64_t length,
                                      std::shared_ptr<BusDevice> device, std::string name);
  // Dispatches an access. Returns false if no device covers it (reads then see all ones, as
  // on a floating ISA bus; writes are dropped). An access straddling two ranges is not
  // dispatched.
  bool Read(uint64_t address, std::span<uint8_t> data) const;
  bool Write(uint64_t address, std::span<const uint8_t> data) const;

 private:
  struct Range {
    uint64_t base;
    uint64_t length;
    std::shared_ptr<BusDevice> device;
    std::string name;
  };
  const Range* Find(uint64_t address, uint64_t size) const;

  std::vector<Range> ranges_;  // sorted by base
};

}  // namespace hull::vmm::devices
