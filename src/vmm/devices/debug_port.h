// Small ports for tests and guest diagnostics.
//
// DebugExit (port 0xf4, 1 byte): a guest write of value V ends the VM, and hull-vmm exits with
// status V. (QEMU's isa-debug-exit at the same port exits with (V << 1) | 1 instead; hull-vmm
// passes V through unchanged so a test guest can report 0 for success.)
//
// PvPanic (port 0x505, 1 byte): QEMU's pvpanic ISA device as Linux's pvpanic driver uses it:
// reads give the supported events (bit 0 panicked, bit 1 crash loaded); a write of bit 0
// reports a guest panic.
//
// Thread-safety: stateless apart from the callbacks, which are called from vCPU threads.
#pragma once

#include <cstdint>
#include <functional>

#include "vmm/arch/x86_64/layout.h"
#include "vmm/devices/bus.h"

namespace hull::vmm::devices {

class DebugExit : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0xf4;
  explicit DebugExit(std::function<void(uint8_t)> on_exit) : on_exit_(std::move(on_exit)) {}
  void Read(uint64_t, std::span<uint8_t> data) override { std::fill(data.begin(), data.end(), 0); }
  void Write(uint64_t, std::span<const uint8_t> data) override {
    if (!data.empty()) on_exit_(data[0]);
  }

 private:
  std::function<void(uint8_t)> on_exit_;
};

class PvPanic : public BusDevice {
 public:
  static constexpr uint16_t kPort = x86_64::kPvPanicPort;
  static constexpr uint8_t kPanicked = 0x01;
  static constexpr uint8_t kCrashLoaded = 0x02;
  explicit PvPanic(std::function<void(uint8_t)> on_event) : on_event_(std::move(on_event)) {}
  void Read(uint64_t, std::span<uint8_t> data) override {
    std::fill(data.begin(), data.end(), 0);
    if (!data.empty()) data[0] = kPanicked | kCrashLoaded;
  }
  void Write(uint64_t, std::span<const uint8_t> data) override {
    if (!data.empty() && data[0] != 0) on_event_(data[0]);
  }

 private:
  std::function<void(uint8_t)> on_event_;
};

}  // namespace hull::vmm::devices
