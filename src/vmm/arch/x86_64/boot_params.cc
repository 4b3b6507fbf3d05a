#include "vmm/arch/x86_64/boot_params.h"

#include <algorithm>

#include "vmm/arch/x86_64/layout.h"

namespace hull::vmm::x86_64 {

std::vector<E820Entry> BuildE820(uint64_t ram_size) {
  std::vector<E820Entry> map;
  for (auto [start, size] : memory::RamRanges(ram_size)) {
    uint64_t end = start + size;
    if (start == 0) {
      map.push_back({0, std::min(end, kEbdaStart), kE820Ram});
      if (end > kEbdaStart) {
        map.push_back({kEbdaStart, kHighMemoryStart - kEbdaStart, kE820Reserved});
      }
      if (end > kHighMemoryStart) map.push_back({kHighMemoryStart, end - kHighMemoryStart, kE820Ram});
    } else {
      map.push_back({start, size, kE820Ram});
    }
  }
  return map;
}

Result<boot_params> BuildZeroPage(const ZeroPageParams& params) {
  if (params.e820.size() > E820_MAX_ENTRIES_ZEROPAGE) return Fail("too many e820 entries");
  boot_params zero{};
  zero.hdr = params.header;
  zero.hdr.type_of_loader = 0xff;  // undefined loader: none of the registered ids
  zero.hdr.vid_mode = 0xffff;      // "normal"
  // The heap fields matter to the real-mode setup code only; fill them as boot.rst asks.
  zero.hdr.loadflags = static_cast<uint8_t>(zero.hdr.loadflags | CAN_USE_HEAP);
  zero.hdr.heap_end_ptr = 0xfe00;
  zero.hdr.cmd_line_ptr = static_cast<uint32_t>(params.cmdline_address);
  zero.ext_cmd_line_ptr = static_cast<uint32_t>(params.cmdline_address >> 32);
  if (params.initrd) {
    zero.hdr.ramdisk_image = static_cast<uint32_t>(params.initrd->address);
    zero.hdr.ramdisk_size = static_cast<uint32_t>(params.initrd->size);
    zero.ext_ramdisk_image = static_cast<uint32_t>(params.initrd->address >> 32);
    zero.ext_ramdisk_size = static_cast<uint32_t>(params.initrd->size >> 32);
  }
  zero.acpi_rsdp_addr = params.acpi_rsdp;
  zero.e820_entries = static_cast<uint8_t>(params.e820.size());
  for (size_t i = 0; i < params.e820.size(); ++i) {
    zero.e820_table[i].addr = params.e820[i].address;
    zero.e820_table[i].size = params.e820[i].size;
    zero.e820_table[i].type = params.e820[i].type;
  }
  return zero;
}

Result<void> WritePvhStartInfo(const memory::GuestMemory& memory, uint64_t cmdline_address,
                               const std::optional<Initrd>& initrd,
                               const std::vector<E820Entry>& e820, uint64_t acpi_rsdp) {
  HvmStartInfo info{};
  info.magic = kPvhStartMagic;
  info.version = 1;
  info.cmdline_paddr = cmdline_address;
  info.rsdp_paddr = acpi_rsdp;
  info.memmap_paddr = kPvhMemmapAddress;
  info.memmap_entries = static_cast<uint32_t>(e820.size());
  if ((kPvhModlistAddress - kPvhMemmapAddress) / sizeof(HvmMemmapEntry) < e820.size())
    return Fail("too many memory map entries for PVH");
  for (size_t i = 0; i < e820.size(); ++i) {
    HvmMemmapEntry entry{e820[i].address, e820[i].size, e820[i].type, 0};
    TRY(memory.WriteObject(kPvhMemmapAddress + i * sizeof(entry), entry));
  }
  if (initrd) {
    info.nr_modules = 1;
    info.modlist_paddr = kPvhModlistAddress;
    TRY(memory.WriteObject(kPvhModlistAddress, HvmModlistEntry{initrd->address, initrd->size, 0, 0}));
  }
  return memory.WriteObject(kPvhStartInfoAddress, info);
}

}  // namespace hull::vmm::x86_64
