// Where hull-vmm puts the boot structures in guest physical memory on x86_64.
//
// Everything below 1 MiB except the EBDA/VGA/BIOS hole is plain RAM in the e820 map; the
// kernel is free to reuse these pages once it has read them.
#pragma once

#include <cstdint>

namespace hull::vmm::x86_64 {

inline constexpr uint64_t kGdtAddress = 0x500;
inline constexpr uint64_t kIdtAddress = 0x5f0;  // one empty entry: no handlers at entry
inline constexpr uint64_t kPvhStartInfoAddress = 0x6000;
inline constexpr uint64_t kPvhMemmapAddress = 0x6100;
inline constexpr uint64_t kPvhModlistAddress = 0x6800;
inline constexpr uint64_t kZeroPageAddress = 0x7000;
inline constexpr uint64_t kBootStackPointer = 0x8ff0;
inline constexpr uint64_t kPml4Address = 0x9000;
inline constexpr uint64_t kPdptAddress = 0xa000;
inline constexpr uint64_t kPdAddress = 0xb000;  // four pages: identity map of the first 4 GiB
inline constexpr uint64_t kIdentityMappedBytes = 4ULL << 30;
inline constexpr uint64_t kCmdlineAddress = 0x20000;
inline constexpr uint64_t kCmdlineMaxSize = 0x10000;  // including the terminating NUL
inline constexpr uint64_t kEbdaStart = 0x9fc00;
inline constexpr uint64_t kHighMemoryStart = 0x100000;  // 1 MiB: where kernels are loaded
// The KVM TSS (three pages) and identity-map page, inside the MMIO gap below the BIOS area.
inline constexpr uint64_t kKvmIdentityMapAddress = 0xfffbc000;
inline constexpr uint64_t kKvmTssAddress = 0xfffbd000;
// I/O port of the pvpanic device (QEMU's ISA pvpanic), announced in the DSDT.
inline constexpr uint16_t kPvPanicPort = 0x505;

}  // namespace hull::vmm::x86_64
