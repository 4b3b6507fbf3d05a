// The code a guest finds at the x86 reset vector.
//
// hull-vmm loads kernels directly and has no firmware, so the reset vector (physical 0xffff0,
// where a CPU starts after reset and where Linux jumps in real mode when it reboots the "BIOS"
// way) would otherwise hold zeros, which execute forever. That is not hypothetical: a stock
// Linux kernel on a hardware-reduced ACPI machine without EFI reboots through BOOT_EFI and then
// BOOT_BIOS, never trying the keyboard controller unless `reboot=k` is given.
// The stub pulses the reset line through the i8042 (out 0xfe to port 0x64), which ends the VM
// like any other guest reset, and halts in case the write was lost.
#pragma once

#include <array>
#include <cstdint>

#include "base/error.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::x86_64 {

inline constexpr uint64_t kResetVectorAddress = 0xffff0;  // inside the reserved BIOS area

// mov al, 0xfe; out 0x64, al; cli; hlt; jmp back to the cli.
inline constexpr std::array<uint8_t, 8> kResetVectorStub = {0xb0, 0xfe, 0xe6, 0x64,
                                                            0xfa, 0xf4, 0xeb, 0xfc};

// Writes the stub at kResetVectorAddress. Guest memory must cover the first MiB.
[[nodiscard]] Result<void> WriteResetVector(const memory::GuestMemory& memory);

}  // namespace hull::vmm::x86_64
