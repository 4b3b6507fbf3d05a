#include "vmm/arch/x86_64/kernel_loader.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "linux/file.h"
#include "vmm/arch/x86_64/gdt.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/page_tables.h"

namespace hull::vmm::x86_64 {
namespace {

constexpr size_t kSetupHeaderOffset = 0x1f1;
constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
constexpr uint16_t kBootFlag = 0xaa55;
constexpr uint16_t kMinimumProtocol = 0x206;
constexpr uint32_t kXenElfnotePhys32Entry = 18;
constexpr uint64_t kPageSize = 4096;

std::string Hex(uint64_t value) {
  char text[24];
  snprintf(text, sizeof(text), "%#llx", static_cast<unsigned long long>(value));
  return text;
}

std::string ProtocolText(uint16_t version) {
  return std::to_string(version >> 8) + "." + std::to_string(version & 0xff);
}

// Where the protected-mode kernel goes. From boot protocol 2.10 the header has the kernel's
// preferred load address (LOAD_PHYSICAL_ADDR, 16 MiB on distribution kernels) and init_size, the
// memory it needs from where it runs. A relocatable kernel loaded lower would move itself up to
// its preferred address before decompressing (arch/x86/boot/compressed/head_64.S), so loading it
// there at once costs nothing and makes [load, load + init_size) its true footprint.
uint64_t BzImageLoadAddress(const setup_header& header) {
  if (header.version >= 0x20a && header.pref_address >= kHighMemoryStart)
    return header.pref_address;
  return kHighMemoryStart;
}

Result<LoadedKernel> LoadBzImage(const memory::GuestMemory& memory,
                                 std::span<const uint8_t> image) {
  BzImage bz = TRY(ParseBzImage(image));
  LoadedKernel kernel;
  kernel.mode = EntryMode::kLinux64;
  uint64_t load_address = BzImageLoadAddress(bz.header);
  if (bz.header.relocatable_kernel && bz.header.kernel_alignment != 0 &&
      load_address % bz.header.kernel_alignment != 0) {
    return Fail("kernel's preferred address " + Hex(load_address) +
                " is not aligned to its kernel_alignment " + Hex(bz.header.kernel_alignment));
  }
  kernel.entry = load_address + 0x200;
  uint64_t needed = std::max<uint64_t>(bz.header.init_size, bz.protected_mode.size());
  kernel.end = load_address + needed;
  if (memory.Translate(load_address, needed).has_value() == false) {
    return Fail("kernel needs " + std::to_string((kernel.end + memory::kMiB - 1) >> 20) +
                " MiB of RAM (it runs from " + Hex(load_address) + " and needs " +
                std::to_string(needed >> 10) + " KiB there), more than the guest has");
  }
  TRY_CTX(memory.Write(load_address, bz.protected_mode), "load protected-mode kernel");
  kernel.header = bz.header;
  kernel.cmdline_max = bz.header.cmdline_size;
  kernel.initrd_address_max = bz.header.initrd_addr_max;
  return kernel;
}

template <typename Ehdr, typename Phdr, typename Nhdr>
Result<LoadedKernel> LoadElf(const memory::GuestMemory& memory, std::span<const uint8_t> image) {
  if (image.size() < sizeof(Ehdr)) return Fail("truncated ELF header");
  Ehdr ehdr;
  std::memcpy(&ehdr, image.data(), sizeof(ehdr));
  if (ehdr.e_machine != EM_X86_64 && ehdr.e_machine != EM_386)
    return Fail("ELF machine " + std::to_string(ehdr.e_machine) + " is not x86");
  if (ehdr.e_phentsize != sizeof(Phdr)) return Fail("bad ELF program header size");
  if (ehdr.e_phnum == 0) return Fail("ELF has no program headers");
  uint64_t table_end = static_cast<uint64_t>(ehdr.e_phoff) + uint64_t{ehdr.e_phnum} * sizeof(Phdr);
  if (ehdr.e_phoff > image.size() || table_end > image.size())
    return Fail("ELF program headers run past the end of the file");

  LoadedKernel kernel;
  std::optional<uint64_t> pvh_entry;
  bool loaded_any = false;
  for (unsigned i = 0; i < ehdr.e_phnum; ++i) {
    Phdr phdr;
    std::memcpy(&phdr, image.data() + ehdr.e_phoff + i * sizeof(Phdr), sizeof(phdr));
    uint64_t offset = phdr.p_offset, file_size = phdr.p_filesz, memory_size = phdr.p_memsz;
    if (offset > image.size() || file_size > image.size() - offset)
      return Fail("ELF segment " + std::to_string(i) + " runs past the end of the file");
    if (phdr.p_type == PT_LOAD) {
      if (file_size > memory_size)
        return Fail("ELF segment " + std::to_string(i) + ": filesz > memsz");
      if (memory_size == 0) continue;
      uint64_t address = phdr.p_paddr;
      if (!memory.Translate(address, memory_size)) {
        return Fail("ELF segment " + std::to_string(i) + " at " + Hex(address) + "+" +
                    Hex(memory_size) + " is outside guest RAM");
      }
      TRY(memory.Write(address, image.subspan(offset, file_size)));
      TRY(memory.Fill(address + file_size, memory_size - file_size, 0));
      kernel.end = std::max(kernel.end, address + memory_size);
      loaded_any = true;
    } else if (phdr.p_type == PT_NOTE) {
      // Walk the notes; each is a header, a 4-byte aligned name and a 4-byte aligned descriptor.
      uint64_t at = offset, end = offset + file_size;
      while (end - at >= sizeof(Nhdr)) {
        Nhdr note;
        std::memcpy(&note, image.data() + at, sizeof(note));
        uint64_t name_at = at + sizeof(Nhdr);
        uint64_t desc_at = name_at + ((uint64_t{note.n_namesz} + 3) & ~3ULL);
        uint64_t next = desc_at + ((uint64_t{note.n_descsz} + 3) & ~3ULL);
        if (next > end) break;  // malformed: ignore the rest of this segment
        if (note.n_type == kXenElfnotePhys32Entry && note.n_namesz == 4 &&
            std::memcmp(image.data() + name_at, "Xen", 4) == 0 && note.n_descsz >= 4) {
          uint32_t entry32;
          std::memcpy(&entry32, image.data() + desc_at, 4);
          pvh_entry = entry32;
        }
        at = next;
      }
    }
  }
  if (!loaded_any) return Fail("ELF has no loadable segments");
  if (pvh_entry) {
    kernel.mode = EntryMode::kPvh32;
    kernel.entry = *pvh_entry;
  } else if constexpr (sizeof(Ehdr) == sizeof(Elf64_Ehdr)) {
    kernel.mode = EntryMode::kLinux64;
    kernel.entry = ehdr.e_entry;
    kernel.header.boot_flag = kBootFlag;
    kernel.header.header = kHdrSMagic;
    kernel.header.version = 0x20c;
    kernel.header.cmdline_size = LoadedKernel::kCmdlineDefault;
    kernel.header.initrd_addr_max = 0x7fffffff;
    kernel.header.loadflags = LOADED_HIGH;
    kernel.initrd_address_max = kernel.header.initrd_addr_max;
  } else {
    return Fail("32-bit ELF without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
  }
  if (!memory.Translate(kernel.entry, 1))
    return Fail("ELF entry point " + Hex(kernel.entry) + " is not in RAM");
  return kernel;
}

}  // namespace

bool IsElf(std::span<const uint8_t> image) {
  return image.size() >= SELFMAG && std::memcmp(image.data(), ELFMAG, SELFMAG) == 0;
}

Result<BzImage> ParseBzImage(std::span<const uint8_t> image) {
  if (image.size() < 0x202 + 1) return Fail("truncated: too short for a boot protocol header");
  size_t header_end = 0x202 + image[0x201];
  size_t header_length = std::min(header_end - kSetupHeaderOffset, sizeof(setup_header));
  if (image.size() < kSetupHeaderOffset + header_length)
    return Fail("truncated: setup header runs past the end of the file");
  BzImage bz;
  bz.header_length = header_length;
  std::memcpy(&bz.header, image.data() + kSetupHeaderOffset, header_length);
  if (bz.header.boot_flag != kBootFlag)
    return Fail("not a bzImage or ELF kernel (no 0xaa55 boot flag)");
  if (bz.header.header != kHdrSMagic) return Fail("not a bzImage (no \"HdrS\" magic)");
  if (bz.header.version < kMinimumProtocol) {
    return Fail("boot protocol " + ProtocolText(bz.header.version) + " is too old, need " +
                ProtocolText(kMinimumProtocol));
  }
  if (!(bz.header.loadflags & LOADED_HIGH)) return Fail("zImage (loaded low) is not supported");
  if (bz.header.version >= 0x20c && !(bz.header.xloadflags & XLF_KERNEL_64))
    return Fail("kernel has no 64-bit entry point (XLF_KERNEL_64 clear)");
  unsigned setup_sects = bz.header.setup_sects == 0 ? 4 : bz.header.setup_sects;
  bz.setup_size = (setup_sects + 1) * 512;
  if (image.size() <= bz.setup_size)
    return Fail("truncated: no protected-mode kernel after the setup code");
  bz.protected_mode = image.subspan(bz.setup_size);
  if (bz.header.syssize != 0 && uint64_t{bz.header.syssize} * 16 > bz.protected_mode.size() + 15)
    return Fail("truncated: protected-mode kernel shorter than syssize says");
  return bz;
}

Result<LoadedKernel> LoadKernel(const memory::GuestMemory& memory, std::span<const uint8_t> image) {
  if (IsElf(image)) {
    if (image.size() <= EI_CLASS) return Fail("truncated ELF header");
    if (image[EI_CLASS] == ELFCLASS64)
      return LoadElf<Elf64_Ehdr, Elf64_Phdr, Elf64_Nhdr>(memory, image);
    if (image[EI_CLASS] == ELFCLASS32)
      return LoadElf<Elf32_Ehdr, Elf32_Phdr, Elf32_Nhdr>(memory, image);
    return Fail("unknown ELF class");
  }
  return LoadBzImage(memory, image);
}

Result<uint64_t> PlaceInitrd(uint64_t ram_size, uint64_t lowest, uint64_t address_max,
                             uint64_t initrd_size) {
  uint64_t low_ram_end = std::min(ram_size, memory::kMmioGapStart);
  uint64_t limit = std::min(low_ram_end, address_max + 1);  // exclusive end
  lowest = (lowest + kPageSize - 1) & ~(kPageSize - 1);
  if (initrd_size > limit || ((limit - initrd_size) & ~(kPageSize - 1)) < lowest) {
    return Fail("initrd of " + std::to_string(initrd_size) +
                " bytes does not fit between the kernel end " + Hex(lowest) + " and " + Hex(limit) +
                " (the guest needs more memory)");
  }
  return (limit - initrd_size) & ~(kPageSize - 1);
}

Result<BootInfo> LoadBootSource(const memory::GuestMemory& memory, const BootSource& source,
                                const BootOptions& options) {
  std::string image = TRY_CTX(linux::ReadFile(source.kernel_path), "kernel");
  auto bytes =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(image.data()), image.size());
  LoadedKernel kernel = TRY_CTX(LoadKernel(memory, bytes), "kernel " + Quote(source.kernel_path));

  if (source.cmdline.size() > kernel.cmdline_max || source.cmdline.size() + 1 > kCmdlineMaxSize) {
    return Fail("command line of " + std::to_string(source.cmdline.size()) +
                " bytes is longer than the kernel's limit of " +
                std::to_string(std::min<uint64_t>(kernel.cmdline_max, kCmdlineMaxSize - 1)));
  }
  TRY(memory.Fill(kCmdlineAddress, kCmdlineMaxSize, 0));
  TRY(memory.Write(kCmdlineAddress,
                   std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(source.cmdline.data()),
                                            source.cmdline.size())));

  std::optional<Initrd> initrd;
  if (!source.initrd_path.empty()) {
    std::string what = "initrd " + Quote(source.initrd_path);
    linux::UniqueFd fd = TRY_CTX(linux::Open(source.initrd_path, O_RDONLY | O_CLOEXEC), "initrd");
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return FailErrno("stat " + what);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    uint64_t address =
        TRY_CTX(PlaceInitrd(memory.size(), kernel.end, kernel.initrd_address_max, size), what);
    uint8_t* host = TRY_CTX(memory.Translate(address, size), what);
    uint64_t done = 0;
    while (done < size) {
      ssize_t n = ::pread(fd.get(), host + done, size - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FailErrno("read " + what);
      if (n == 0) return Fail(what + " shrank while being read");
      done += static_cast<uint64_t>(n);
    }
    initrd = Initrd{address, size};
  }

  std::vector<E820Entry> e820 = BuildE820(memory.size());
  TRY(WriteGdt(memory, kGdtAddress));
  TRY(memory.Fill(kIdtAddress, 8, 0));
  BootInfo info;
  info.mode = kernel.mode;
  info.entry = kernel.entry;
  if (kernel.mode == EntryMode::kPvh32) {
    TRY(WritePvhStartInfo(memory, kCmdlineAddress, initrd, e820, options.acpi_rsdp));
    info.boot_structure = kPvhStartInfoAddress;
  } else {
    TRY(WriteIdentityPageTables(memory));
    boot_params zero =
        TRY(BuildZeroPage({kernel.header, kCmdlineAddress, initrd, e820, options.acpi_rsdp}));
    TRY(memory.WriteObject(kZeroPageAddress, zero));
    info.boot_structure = kZeroPageAddress;
  }
  return info;
}

}  // namespace hull::vmm::x86_64
