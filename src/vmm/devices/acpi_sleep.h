// AcpiSleepControl: the sleep control and status registers of a hardware-reduced ACPI FADT
// (two byte-wide ports: control at offset 0, status at offset 1). The guest enters S5 (power
// off) by writing SLP_EN | (SLP_TYP << 2) to the control register with the SLP_TYP of \_S5.
//
// Thread-safety: stateless apart from the callback, called from vCPU threads.
#pragma once

#include <cstdint>
#include <functional>

#include "vmm/devices/bus.h"

namespace hull::vmm::devices {

class AcpiSleepControl : public BusDevice {
 public:
  static constexpr uint64_t kPortSpan = 2;
  static constexpr uint8_t kSleepEnable = 0x20;
  static constexpr uint8_t kSleepTypeMask = 0x1c;

  // `on_sleep(type)` is called when the guest enables a sleep state of SLP_TYP `type`.
  explicit AcpiSleepControl(std::function<void(uint8_t)> on_sleep) : on_sleep_(std::move(on_sleep)) {}

  void Read(uint64_t, std::span<uint8_t> data) override { std::fill(data.begin(), data.end(), 0); }
  void Write(uint64_t offset, std::span<const uint8_t> data) override {
    if (offset != 0 || data.empty()) return;  // writes to the status register clear nothing
    if (data[0] & kSleepEnable) on_sleep_(static_cast<uint8_t>((data[0] & kSleepTypeMask) >> 2));
  }

 private:
  std::function<void(uint8_t)> on_sleep_;
};

}  // namespace hull::vmm::devices
