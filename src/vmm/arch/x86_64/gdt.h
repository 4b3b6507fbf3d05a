// The boot GDT and its translation into KVM segment registers.
//
// Selectors follow the Linux boot protocol (__BOOT_CS 0x10, __BOOT_DS 0x18) and add a 32-bit
// code segment for PVH entry:
//   0x00 null, 0x08 32-bit code, 0x10 64-bit code, 0x18 data, 0x20 TSS (then a null slot, the
//   upper half of a 64-bit TSS descriptor).
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>

#include "base/error.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::x86_64 {

inline constexpr uint16_t kCode32Selector = 0x08;
inline constexpr uint16_t kCode64Selector = 0x10;
inline constexpr uint16_t kDataSelector = 0x18;
inline constexpr uint16_t kTssSelector = 0x20;

// Encodes a descriptor: `flags` holds the access byte in bits 0-7 and the G/DB/L/AVL nibble in
// bits 12-15, as in the usual 0xa09b notation.
constexpr uint64_t GdtEntry(uint16_t flags, uint32_t base, uint32_t limit) {
  return (uint64_t{base & 0xff000000u} << 32) | (uint64_t{base & 0x00ffffffu} << 16) |
         (uint64_t{limit & 0x0000ffffu}) | (uint64_t{limit & 0x000f0000u} << 32) |
         (uint64_t{flags & 0xf0ffu} << 40);
}

inline constexpr std::array<uint64_t, 6> kBootGdt = {
    0,
    GdtEntry(0xc09b, 0, 0xfffff),  // 32-bit code, 4 GiB flat
    GdtEntry(0xa09b, 0, 0xfffff),  // 64-bit code
    GdtEntry(0xc093, 0, 0xfffff),  // data, 4 GiB flat
    GdtEntry(0x008b, 0, 0x67),     // busy 32/64-bit TSS, base 0, limit 0x67
    0,
};

// The KVM view of the descriptor at `selector` in kBootGdt.
kvm_segment SegmentFromGdt(uint16_t selector);

[[nodiscard]] Result<void> WriteGdt(const memory::GuestMemory& memory, uint64_t address);

}  // namespace hull::vmm::x86_64
