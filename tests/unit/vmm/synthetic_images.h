// Synthetic kernel images for loader tests: a bzImage with a valid boot protocol header and a
// 32-bit ELF with an optional PVH note.
#pragma once

#include <asm/bootparam.h>
#include <elf.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

namespace hull::vmm::x86_64 {

template <typename T>
inline void Put(std::vector<uint8_t>& image, size_t offset, T value) {
  std::memcpy(image.data() + offset, &value, sizeof(value));
}

// A bzImage with 4 setup sectors, boot protocol 2.15 and `payload` bytes of "kernel".
inline std::vector<uint8_t> SyntheticBzImage(size_t payload = 8192, uint16_t version = 0x20f) {
  std::vector<uint8_t> image(5 * 512 + payload, 0);
  image[0x1f1] = 4;                                    // setup_sects
  Put<uint32_t>(image, 0x1f4, payload / 16);           // syssize
  Put<uint16_t>(image, 0x1fe, 0xaa55);                 // boot_flag
  image[0x200] = 0xeb;                                 // jump
  image[0x201] = 0x6a;                                 // header ends at 0x26c
  Put<uint32_t>(image, 0x202, 0x53726448);             // "HdrS"
  Put<uint16_t>(image, 0x206, version);
  image[0x211] = LOADED_HIGH;                          // loadflags
  Put<uint32_t>(image, 0x214, 0x100000);               // code32_start
  Put<uint32_t>(image, 0x22c, 0x37ffffff);             // initrd_addr_max
  Put<uint16_t>(image, 0x236, XLF_KERNEL_64);          // xloadflags
  Put<uint32_t>(image, 0x238, 255);                    // cmdline_size
  Put<uint32_t>(image, 0x260, 0x200000);               // init_size: 2 MiB
  for (size_t i = 0; i < payload; ++i) image[5 * 512 + i] = static_cast<uint8_t>(i * 7);
  return image;
}

// ELF helpers: one PT_LOAD of `code` at `address`, and optionally a PVH note.
inline std::vector<uint8_t> SyntheticElf32(uint32_t address, std::vector<uint8_t> code,
                                    std::optional<uint32_t> pvh_entry) {
  std::vector<uint8_t> image(0x1000 + code.size(), 0);
  Elf32_Ehdr ehdr{};
  std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
  ehdr.e_ident[EI_CLASS] = ELFCLASS32;
  ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
  ehdr.e_machine = EM_386;
  ehdr.e_entry = address;
  ehdr.e_phoff = sizeof(Elf32_Ehdr);
  ehdr.e_phentsize = sizeof(Elf32_Phdr);
  ehdr.e_phnum = pvh_entry ? 2 : 1;
  std::memcpy(image.data(), &ehdr, sizeof(ehdr));
  Elf32_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_offset = 0x1000;
  load.p_paddr = address;
  load.p_filesz = static_cast<uint32_t>(code.size());
  load.p_memsz = static_cast<uint32_t>(code.size()) + 0x100;  // some bss
  std::memcpy(image.data() + ehdr.e_phoff, &load, sizeof(load));
  std::memcpy(image.data() + 0x1000, code.data(), code.size());
  if (pvh_entry) {
    Elf32_Phdr note{};
    note.p_type = PT_NOTE;
    note.p_offset = 0x100;
    note.p_filesz = 12 + 4 + 4;
    std::memcpy(image.data() + ehdr.e_phoff + sizeof(Elf32_Phdr), &note, sizeof(note));
    uint32_t words[3] = {4, 4, 18};
    std::memcpy(image.data() + 0x100, words, 12);
    std::memcpy(image.data() + 0x10c, "Xen", 4);
    std::memcpy(image.data() + 0x110, &*pvh_entry, 4);
  }
  return image;
}

}  // namespace hull::vmm::x86_64
