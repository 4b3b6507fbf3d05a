// Loading a kernel, initrd and command line into guest memory.
//
// Kernel formats:
//  - bzImage (Linux x86 boot protocol >= 2.06, Documentation/x86/boot.rst): the protected-mode
//    part is loaded at 1 MiB and entered at its 64-bit entry point (+0x200) in long mode with
//    %rsi pointing at the zero page.
//  - ELF (vmlinux or a small test guest), loaded by physical address. If it carries the PVH
//    note (XEN_ELFNOTE_PHYS32_ENTRY) it is entered there in 32-bit protected mode with %ebx
//    pointing at hvm_start_info; otherwise an ELF64 is entered at e_entry in long mode, like a
//    bzImage.
// All image contents are untrusted input: every offset and size is checked, and a bad image is
// an error naming the reason, never a crash.
#pragma once

#include <asm/bootparam.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/error.h"
#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::x86_64 {

enum class EntryMode {
  kLinux64,  // 64-bit long mode, rsi = zero page
  kPvh32,    // 32-bit protected mode without paging, ebx = hvm_start_info
};

// A parsed bzImage header.
struct BzImage {
  setup_header header{};
  size_t header_length = 0;  // bytes of setup header present (0x202 + byte at 0x201 - 0x1f1)
  size_t setup_size = 0;     // real-mode part: (setup_sects + 1) * 512
  std::span<const uint8_t> protected_mode;  // the rest of the file
};

// Parses and checks the boot protocol header of a bzImage.
[[nodiscard]] Result<BzImage> ParseBzImage(std::span<const uint8_t> image);
// True if `image` starts like an ELF file.
bool IsElf(std::span<const uint8_t> image);

struct LoadedKernel {
  EntryMode mode = EntryMode::kLinux64;
  uint64_t entry = 0;
  uint64_t end = 0;  // first byte after the memory the kernel needs (init_size for bzImage)
  setup_header header{};  // copied into the zero page (kLinux64)
  uint32_t cmdline_max = kCmdlineDefault;   // longest command line accepted, without the NUL
  uint64_t initrd_address_max = 0x37ffffff;  // highest byte the initrd may occupy

  static constexpr uint32_t kCmdlineDefault = 2047;
};

// Loads a bzImage or ELF kernel image into `memory`.
[[nodiscard]] Result<LoadedKernel> LoadKernel(const memory::GuestMemory& memory,
                                              std::span<const uint8_t> image);

// Chooses the initrd's address: the highest page-aligned spot that ends at or below both
// `address_max` (inclusive) and the end of RAM below 4 GiB, and starts at or above `lowest`.
[[nodiscard]] Result<uint64_t> PlaceInitrd(uint64_t ram_size, uint64_t lowest,
                                           uint64_t address_max, uint64_t initrd_size);

struct BootSource {
  std::string kernel_path;
  std::string initrd_path;  // empty: none
  std::string cmdline;
};

struct BootOptions {
  uint64_t acpi_rsdp = 0;  // RSDP address for the zero page / start info; 0: none
};

struct BootInfo {
  EntryMode mode = EntryMode::kLinux64;
  uint64_t entry = 0;
  uint64_t boot_structure = 0;  // zero page (kLinux64) or hvm_start_info (kPvh32)
};

// Reads the files, loads kernel, initrd and command line, and writes the zero page or the PVH
// start info, the GDT and the identity page tables. Errors name the file and the reason.
[[nodiscard]] Result<BootInfo> LoadBootSource(const memory::GuestMemory& memory,
                                              const BootSource& source,
                                              const BootOptions& options = {});

}  // namespace hull::vmm::x86_64
