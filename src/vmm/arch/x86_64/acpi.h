// ACPI tables for the guest: RSDP, XSDT, a hardware-reduced FADT, MADT and a DSDT, so that
// stock kernels find every vCPU (MADT), the legacy devices and virtio-mmio devices (DSDT,
// _HID "LNRO0005") and can power off (\_S5 with the FADT sleep control register) and reboot
// (the FADT reset register, the i8042's 0xfe command). Layouts follow the ACPI 6.x
// specification; tables live in the reserved BIOS area below 1 MiB.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::x86_64::acpi {

inline constexpr uint64_t kRsdpAddress = 0xe0000;
inline constexpr uint64_t kTablesLimit = 0x100000;
// Sleep control and status registers of the hardware-reduced FADT (one byte each).
inline constexpr uint16_t kSleepControlPort = 0x4f0;
inline constexpr uint16_t kSleepStatusPort = 0x4f1;
inline constexpr uint8_t kS5SleepType = 5;  // SLP_TYP of \_S5, written to the control register
inline constexpr uint8_t kSleepEnable = 0x20;
inline constexpr uint32_t kIoApicAddress = 0xfec00000;
inline constexpr uint32_t kLocalApicAddress = 0xfee00000;

struct VirtioMmioDevice {
  uint64_t address;
  uint64_t size;
  uint32_t irq;  // GSI on the IOAPIC
};

struct AcpiConfig {
  uint32_t vcpu_count = 1;
  std::vector<VirtioMmioDevice> virtio_devices;
};

// The tables as they are laid out from kRsdpAddress (RSDP first). Pure.
[[nodiscard]] Result<std::vector<uint8_t>> BuildTables(const AcpiConfig& config);
// Builds the tables and writes them at kRsdpAddress.
[[nodiscard]] Result<void> WriteTables(const memory::GuestMemory& memory, const AcpiConfig& config);

// The byte that makes `bytes` sum to zero (mod 256).
uint8_t Checksum(const uint8_t* bytes, size_t length);

}  // namespace hull::vmm::x86_64::acpi
