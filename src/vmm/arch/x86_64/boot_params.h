// Boot structures handed to the guest kernel: the e820 map, the Linux "zero page"
// (struct boot_params, Documentation/x86/zero-page.rst) and the PVH hvm_start_info.
// Pure functions over GuestMemory; no KVM.
#pragma once

#include <asm/bootparam.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "base/error.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::x86_64 {

inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;

struct E820Entry {
  uint64_t address;
  uint64_t size;
  uint32_t type;
  bool operator==(const E820Entry&) const = default;
};

// The e820 map for `ram_size` bytes laid out as GuestMemory does: low RAM below the EBDA, the
// EBDA/VGA/BIOS area reserved, RAM from 1 MiB to the MMIO gap, the rest above 4 GiB.
std::vector<E820Entry> BuildE820(uint64_t ram_size);

struct Initrd {
  uint64_t address = 0;
  uint64_t size = 0;
};

// Inputs for the zero page. `setup_header` is the header copied from the bzImage (or a
// minimal one for an ELF kernel entered at its 64-bit entry point).
struct ZeroPageParams {
  setup_header header{};
  uint64_t cmdline_address = 0;
  std::optional<Initrd> initrd;
  std::vector<E820Entry> e820;
  uint64_t acpi_rsdp = 0;  // 0: none (the kernel then scans the BIOS area)
};

// Builds struct boot_params: the given header with the loader's fields filled in.
[[nodiscard]] Result<boot_params> BuildZeroPage(const ZeroPageParams& params);

// PVH (Xen's hvm_start_info, version 1) as written for kernels entered through
// XEN_ELFNOTE_PHYS32_ENTRY. Field layout from xen/include/public/arch-x86/hvm/start_info.h.
inline constexpr uint32_t kPvhStartMagic = 0x336ec578;
struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};
static_assert(sizeof(HvmStartInfo) == 56);
struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
struct HvmMemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};

// Writes hvm_start_info, its memory map and module list at the addresses in layout.h.
[[nodiscard]] Result<void> WritePvhStartInfo(const memory::GuestMemory& memory,
                                             uint64_t cmdline_address,
                                             const std::optional<Initrd>& initrd,
                                             const std::vector<E820Entry>& e820,
                                             uint64_t acpi_rsdp = 0);

}  // namespace hull::vmm::x86_64
