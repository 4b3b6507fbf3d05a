// x86_64 boot: bzImage header parsing, kernel/initrd/cmdline placement, the zero page and the
// e820 map, ELF and PVH loading. Synthetic images only; no KVM.
#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "linux/file.h"
#include "synthetic_images.h"
#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/arch/x86_64/gdt.h"
#include "vmm/arch/x86_64/kernel_loader.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/reset_vector.h"

namespace hull::vmm::x86_64 {
namespace {

using memory::GuestMemory;
using memory::kGiB;
using memory::kMiB;

TEST(VmmBzImage, ParsesTheSetupHeader) {
  auto image = SyntheticBzImage();
  auto bz = ParseBzImage(image);
  ASSERT_TRUE(bz) << bz.error().ToString();
  EXPECT_EQ(bz->setup_size, 5u * 512);
  EXPECT_EQ(bz->protected_mode.size(), 8192u);
  EXPECT_EQ(bz->header.version, 0x20f);
  EXPECT_EQ(bz->header.cmdline_size, 255u);
  EXPECT_EQ(bz->header.init_size, 0x200000u);
  EXPECT_EQ(bz->header_length, 0x26cu - 0x1f1u);
}

TEST(VmmBzImage, SetupSectsZeroMeansFour) {
  auto image = SyntheticBzImage();
  image[0x1f1] = 0;
  auto bz = ParseBzImage(image);
  ASSERT_TRUE(bz);
  EXPECT_EQ(bz->setup_size, 5u * 512);
}

void ExpectError(const Result<BzImage>& r, const std::string& text) {
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find(text), std::string::npos) << r.error().ToString();
}

TEST(VmmBzImage, RejectsBadImages) {
  auto image = SyntheticBzImage();
  ExpectError(ParseBzImage(std::span(image).first(0x100)), "truncated");
  ExpectError(ParseBzImage(std::span(image).first(5 * 512)), "no protected-mode kernel");
  ExpectError(ParseBzImage(std::span(image).first(5 * 512 + 100)), "shorter than syssize");

  auto bad_magic = image;
  bad_magic[0x202] = 'X';
  ExpectError(ParseBzImage(bad_magic), "HdrS");
  auto no_flag = image;
  no_flag[0x1fe] = 0;
  ExpectError(ParseBzImage(no_flag), "0xaa55");
  ExpectError(ParseBzImage(SyntheticBzImage(8192, 0x205)), "2.5 is too old");
  auto no_64 = image;
  Put<uint16_t>(no_64, 0x236, 0);
  ExpectError(ParseBzImage(no_64), "64-bit");
  auto zimage = image;
  zimage[0x211] = 0;
  ExpectError(ParseBzImage(zimage), "zImage");
  std::vector<uint8_t> garbage(100000, 0x5a);
  ExpectError(ParseBzImage(garbage), "not a bzImage");
}

TEST(VmmBzImage, LoadsAtOneMiBWithTheEntryAt0x200) {
  auto memory = GuestMemory::Create({.size = 16 * kMiB});
  ASSERT_TRUE(memory);
  auto image = SyntheticBzImage();
  auto kernel = LoadKernel(*memory, image);
  ASSERT_TRUE(kernel) << kernel.error().ToString();
  EXPECT_EQ(kernel->mode, EntryMode::kLinux64);
  EXPECT_EQ(kernel->entry, 0x100200u);
  EXPECT_EQ(kernel->end, 0x100000u + 0x200000u);
  std::vector<uint8_t> loaded(8192);
  ASSERT_TRUE(memory->Read(0x100000, loaded));
  EXPECT_TRUE(std::equal(loaded.begin(), loaded.end(), image.begin() + 5 * 512));
}

// A distribution kernel (Debian's 6.1: pref_address 16 MiB, init_size ~51 MiB, relocatable):
// it runs from its preferred address whatever the loader does, so it is loaded there and its
// footprint, which decides what fits and where the initrd may go, is counted from there.
TEST(VmmBzImage, LoadsAtThePreferredAddressAndCountsItsFootprintFromThere) {
  auto image = SyntheticBzImage();
  Put<uint32_t>(image, 0x230, 0x200000);   // kernel_alignment 2 MiB
  image[0x234] = 1;                        // relocatable_kernel
  Put<uint64_t>(image, 0x258, 0x1000000);  // pref_address 16 MiB
  Put<uint32_t>(image, 0x260, 0x3378000);  // init_size
  uint64_t end = 0x1000000 + 0x3378000;    // ~67.5 MiB

  auto small = GuestMemory::Create({.size = 64 * kMiB});
  ASSERT_TRUE(small);
  auto refused = LoadKernel(*small, image);
  ASSERT_FALSE(refused) << "the kernel would run past the end of a 64 MiB guest";
  EXPECT_NE(refused.error().ToString().find("needs 68 MiB"), std::string::npos)
      << refused.error().ToString();

  auto memory = GuestMemory::Create({.size = 72 * kMiB});
  ASSERT_TRUE(memory);
  auto kernel = LoadKernel(*memory, image);
  ASSERT_TRUE(kernel) << kernel.error().ToString();
  EXPECT_EQ(kernel->entry, 0x1000200u);
  EXPECT_EQ(kernel->end, end);
  std::vector<uint8_t> loaded(8192);
  ASSERT_TRUE(memory->Read(0x1000000, loaded));
  EXPECT_TRUE(std::equal(loaded.begin(), loaded.end(), image.begin() + 5 * 512));
  auto initrd = PlaceInitrd(72 * kMiB, kernel->end, kernel->initrd_address_max, 4 * kMiB);
  ASSERT_TRUE(initrd) << initrd.error().ToString();
  EXPECT_GE(*initrd, end);
  EXPECT_FALSE(PlaceInitrd(72 * kMiB, kernel->end, kernel->initrd_address_max, 5 * kMiB))
      << "only 4.5 MiB are left above the kernel's footprint";
}

TEST(VmmBzImage, KernelLargerThanMemoryIsAnError) {
  auto memory = GuestMemory::Create({.size = 4 * kMiB});
  ASSERT_TRUE(memory);
  auto image = SyntheticBzImage();
  Put<uint32_t>(image, 0x260, 0x1000000);  // init_size 16 MiB
  auto kernel = LoadKernel(*memory, image);
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().ToString().find("more than the guest has"), std::string::npos);
}

TEST(VmmE820, SmallGuest) {
  auto map = BuildE820(128 * kMiB);
  std::vector<E820Entry> expected = {
      {0, 0x9fc00, kE820Ram},
      {0x9fc00, 0x100000 - 0x9fc00, kE820Reserved},
      {0x100000, 128 * kMiB - 0x100000, kE820Ram},
  };
  EXPECT_EQ(map, expected);
}

TEST(VmmE820, LargeGuestSplitsAbove4GiB) {
  auto map = BuildE820(6 * kGiB);
  ASSERT_EQ(map.size(), 4u);
  EXPECT_EQ(map[2], (E820Entry{0x100000, memory::kMmioGapStart - 0x100000, kE820Ram}));
  EXPECT_EQ(map[3], (E820Entry{4 * kGiB, 6 * kGiB - memory::kMmioGapStart, kE820Ram}));
  uint64_t ram = 0;
  for (const auto& e : map)
    if (e.type == kE820Ram) ram += e.size;
  EXPECT_EQ(ram, 6 * kGiB - (0x100000 - 0x9fc00));
}

// The reset stub sits where real mode starts after a reset (0xf000:0xfff0), in the part of the
// first MiB the e820 map reserves (the kernel never reuses it), and pulses the i8042 reset line.
TEST(VmmResetVector, StubPulsesTheI8042ResetLineFromTheReservedBiosArea) {
  auto memory = GuestMemory::Create({.size = 16 * kMiB});
  ASSERT_TRUE(memory) << memory.error().ToString();
  ASSERT_TRUE(WriteResetVector(*memory));
  std::array<uint8_t, kResetVectorStub.size()> code{};
  ASSERT_TRUE(memory->Read(0xffff0, code));
  // mov al, 0xfe; out 0x64, al: the i8042 "pulse output port bit 0" command.
  EXPECT_EQ(code[0], 0xb0);
  EXPECT_EQ(code[1], 0xfe);
  EXPECT_EQ(code[2], 0xe6);
  EXPECT_EQ(code[3], 0x64);
  EXPECT_EQ(code, kResetVectorStub);
  bool reserved = false;
  for (const E820Entry& entry : BuildE820(16 * kMiB))
    if (entry.address <= 0xffff0 && 0xffff0 + code.size() <= entry.address + entry.size)
      reserved = entry.type == kE820Reserved;
  EXPECT_TRUE(reserved);
}

TEST(VmmZeroPage, FillsTheLoaderFields) {
  ZeroPageParams params;
  params.header.version = 0x20f;
  params.header.header = 0x53726448;
  params.header.loadflags = LOADED_HIGH;
  params.cmdline_address = kCmdlineAddress;
  params.initrd = Initrd{0x7000000, 0x123456};
  params.e820 = BuildE820(256 * kMiB);
  auto zero = BuildZeroPage(params);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->hdr.type_of_loader, 0xff);
  EXPECT_EQ(zero->hdr.cmd_line_ptr, kCmdlineAddress);
  EXPECT_EQ(zero->hdr.ramdisk_image, 0x7000000u);
  EXPECT_EQ(zero->hdr.ramdisk_size, 0x123456u);
  EXPECT_EQ(zero->hdr.header, 0x53726448u);
  EXPECT_TRUE(zero->hdr.loadflags & LOADED_HIGH);
  EXPECT_TRUE(zero->hdr.loadflags & CAN_USE_HEAP);
  EXPECT_EQ(zero->e820_entries, 3);
  EXPECT_EQ(zero->e820_table[2].addr, 0x100000u);
  EXPECT_EQ(zero->e820_table[2].type, kE820Ram);
  // Offsets fixed by Documentation/x86/zero-page.rst.
  auto* bytes = reinterpret_cast<const uint8_t*>(&*zero);
  EXPECT_EQ(bytes[0x1e8], 3) << "e820_entries";
  EXPECT_EQ(bytes[0x210], 0xff) << "type_of_loader";
}

TEST(VmmInitrd, PlacedAtTheTopOfLowMemoryBelowTheLimit) {
  auto at = PlaceInitrd(64 * kMiB, 0x300000, 0x37ffffff, 1 * kMiB + 5);
  ASSERT_TRUE(at);
  EXPECT_EQ(*at, (64 * kMiB - (1 * kMiB + 5)) & ~0xfffULL);
  // initrd_addr_max is the last byte the initrd may occupy.
  auto capped = PlaceInitrd(2 * kGiB, 0x300000, 0x37ffffff, 4096);
  ASSERT_TRUE(capped);
  EXPECT_EQ(*capped, 0x38000000u - 4096);
  // Large guests: never in the MMIO gap or above 4 GiB.
  auto large = PlaceInitrd(8 * kGiB, 0x300000, 0xffffffff, 4096);
  ASSERT_TRUE(large);
  EXPECT_EQ(*large, memory::kMmioGapStart - 4096);
}

TEST(VmmInitrd, TooLargeIsAnError) {
  auto r = PlaceInitrd(16 * kMiB, 4 * kMiB, 0x37ffffff, 13 * kMiB);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("does not fit"), std::string::npos);
}

TEST(VmmElf, PvhNoteSelectsThe32BitEntry) {
  auto memory = GuestMemory::Create({.size = 16 * kMiB});
  ASSERT_TRUE(memory);
  auto image = SyntheticElf32(0x100000, {0xf4, 0xeb, 0xfe}, 0x100001);
  auto kernel = LoadKernel(*memory, image);
  ASSERT_TRUE(kernel) << kernel.error().ToString();
  EXPECT_EQ(kernel->mode, EntryMode::kPvh32);
  EXPECT_EQ(kernel->entry, 0x100001u);
  EXPECT_EQ(kernel->end, 0x100000u + 3 + 0x100);
  EXPECT_EQ(*memory->ReadObject<uint8_t>(0x100000), 0xf4);
}

TEST(VmmElf, RejectsBadImages) {
  auto memory = GuestMemory::Create({.size = 16 * kMiB});
  ASSERT_TRUE(memory);
  auto no_note = SyntheticElf32(0x100000, {0xf4}, std::nullopt);
  EXPECT_FALSE(LoadKernel(*memory, no_note)) << "32-bit ELF needs the PVH note";
  auto outside = SyntheticElf32(0x7f000000, {0xf4}, 0x7f000000);
  auto r = LoadKernel(*memory, outside);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("outside guest RAM"), std::string::npos);
  auto truncated = SyntheticElf32(0x100000, {0xf4}, 0x100000);
  truncated.resize(0x800);
  EXPECT_FALSE(LoadKernel(*memory, truncated));
  auto lying = SyntheticElf32(0x100000, {0xf4}, 0x100000);
  Elf32_Phdr load;
  std::memcpy(&load, lying.data() + sizeof(Elf32_Ehdr), sizeof(load));
  load.p_filesz = 0xfffffff0;  // runs past the file
  std::memcpy(lying.data() + sizeof(Elf32_Ehdr), &load, sizeof(load));
  EXPECT_FALSE(LoadKernel(*memory, lying));
  std::vector<uint8_t> header_only(ELFMAG, ELFMAG + SELFMAG);
  EXPECT_FALSE(LoadKernel(*memory, header_only));
}

class VmmBootSource : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hull-vmm-boot-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto image = SyntheticBzImage();
    ASSERT_TRUE(linux::WriteFile(dir_ + "/bzImage", std::string(image.begin(), image.end())));
    ASSERT_TRUE(linux::WriteFile(dir_ + "/initrd", std::string(100000, 'i')));
    auto memory = GuestMemory::Create({.size = 32 * kMiB});
    ASSERT_TRUE(memory);
    memory_.emplace(std::move(*memory));
  }
  void TearDown() override { (void)linux::RemoveAll(dir_); }

  std::string dir_;
  std::optional<GuestMemory> memory_;
};

TEST_F(VmmBootSource, WritesZeroPageCmdlineInitrdGdtAndPageTables) {
  auto info = LoadBootSource(*memory_, {dir_ + "/bzImage", dir_ + "/initrd", "console=ttyS0"});
  ASSERT_TRUE(info) << info.error().ToString();
  EXPECT_EQ(info->mode, EntryMode::kLinux64);
  EXPECT_EQ(info->entry, 0x100200u);
  EXPECT_EQ(info->boot_structure, kZeroPageAddress);
  auto zero = memory_->ReadObject<boot_params>(kZeroPageAddress);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->hdr.type_of_loader, 0xff);
  EXPECT_EQ(zero->hdr.cmd_line_ptr, kCmdlineAddress);
  EXPECT_EQ(zero->hdr.ramdisk_size, 100000u);
  EXPECT_EQ(zero->hdr.ramdisk_image % 4096, 0u);
  EXPECT_GE(zero->hdr.ramdisk_image, 0x100000u + 0x200000u) << "outside the kernel's init_size";
  EXPECT_LE(zero->hdr.ramdisk_image + zero->hdr.ramdisk_size, 32 * kMiB);
  EXPECT_EQ(*memory_->ReadObject<uint8_t>(zero->hdr.ramdisk_image + 99999), 'i');
  char cmdline[14];
  ASSERT_TRUE(memory_->Read(kCmdlineAddress, std::span(reinterpret_cast<uint8_t*>(cmdline), 14)));
  EXPECT_STREQ(cmdline, "console=ttyS0");
  EXPECT_EQ(zero->e820_entries, 3);
  EXPECT_EQ(*memory_->ReadObject<uint64_t>(kGdtAddress + 0x10), kBootGdt[2]);
  EXPECT_EQ(*memory_->ReadObject<uint64_t>(kPml4Address) & ~0xfffULL, kPdptAddress);
}

TEST_F(VmmBootSource, CmdlineLongerThanTheKernelAllowsIsAnError) {
  auto info = LoadBootSource(*memory_, {dir_ + "/bzImage", "", std::string(256, 'x')});
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().ToString().find("command line of 256 bytes"), std::string::npos)
      << info.error().ToString();
  EXPECT_TRUE(LoadBootSource(*memory_, {dir_ + "/bzImage", "", std::string(255, 'x')}));
}

TEST_F(VmmBootSource, InitrdThatDoesNotFitNamesThePath) {
  ASSERT_TRUE(linux::WriteFile(dir_ + "/big", std::string(30 * kMiB, 'b')));
  auto info = LoadBootSource(*memory_, {dir_ + "/bzImage", dir_ + "/big", ""});
  ASSERT_FALSE(info);
  std::string text = info.error().ToString();
  EXPECT_NE(text.find(dir_ + "/big"), std::string::npos) << text;
  EXPECT_NE(text.find("does not fit"), std::string::npos) << text;
}

TEST_F(VmmBootSource, MissingOrGarbageKernelNamesThePath) {
  auto missing = LoadBootSource(*memory_, {dir_ + "/nope", "", ""});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().ToString().find(dir_ + "/nope"), std::string::npos);
  ASSERT_TRUE(linux::WriteFile(dir_ + "/garbage", std::string(4096, 'g')));
  auto garbage = LoadBootSource(*memory_, {dir_ + "/garbage", "", ""});
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().ToString().find(dir_ + "/garbage"), std::string::npos);
  auto missing_initrd = LoadBootSource(*memory_, {dir_ + "/bzImage", dir_ + "/no-initrd", ""});
  ASSERT_FALSE(missing_initrd);
  EXPECT_NE(missing_initrd.error().ToString().find(dir_ + "/no-initrd"), std::string::npos);
}

TEST(VmmPvh, StartInfoAndMemoryMap) {
  auto memory = GuestMemory::Create({.size = 16 * kMiB});
  ASSERT_TRUE(memory);
  auto e820 = BuildE820(16 * kMiB);
  ASSERT_TRUE(WritePvhStartInfo(*memory, kCmdlineAddress, Initrd{0x800000, 0x1000}, e820));
  auto info = memory->ReadObject<HvmStartInfo>(kPvhStartInfoAddress);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->magic, kPvhStartMagic);
  EXPECT_EQ(info->version, 1u);
  EXPECT_EQ(info->cmdline_paddr, kCmdlineAddress);
  EXPECT_EQ(info->memmap_entries, e820.size());
  EXPECT_EQ(info->nr_modules, 1u);
  auto module = memory->ReadObject<HvmModlistEntry>(info->modlist_paddr);
  ASSERT_TRUE(module);
  EXPECT_EQ(module->paddr, 0x800000u);
  auto last = memory->ReadObject<HvmMemmapEntry>(info->memmap_paddr + 2 * sizeof(HvmMemmapEntry));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->addr, 0x100000u);
  EXPECT_EQ(last->type, kE820Ram);
}

}  // namespace
}  // namespace hull::vmm::x86_64
