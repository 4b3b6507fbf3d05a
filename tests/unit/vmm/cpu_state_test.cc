// vCPU start state: page tables, GDT, registers, FPU, LAPIC, MSRs, CPUID and the KVM
// capability check. Pure functions; no KVM.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/arch/x86_64/gdt.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/msrs.h"
#include "vmm/arch/x86_64/page_tables.h"
#include "vmm/arch/x86_64/vcpu_setup.h"
#include "vmm/kvm/kvm_system.h"

namespace hull::vmm::x86_64 {
namespace {

using memory::GuestMemory;
using memory::kMiB;

TEST(VmmPageTables, IdentityMapsFourGiBWithTwoMiBPages) {
  auto memory = GuestMemory::Create({.size = 16 * kMiB});
  ASSERT_TRUE(memory);
  ASSERT_TRUE(WriteIdentityPageTables(*memory));
  auto pml4 = *memory->ReadObject<std::array<uint64_t, 512>>(kPml4Address);
  EXPECT_EQ(pml4[0], kPdptAddress | kPagePresent | kPageWritable);
  EXPECT_EQ(pml4[1], 0u);
  auto pdpt = *memory->ReadObject<std::array<uint64_t, 512>>(kPdptAddress);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(pdpt[i], (kPdAddress + i * 4096) | 3) << i;
  EXPECT_EQ(pdpt[4], 0u);
  // Walk a few addresses as the MMU would.
  for (uint64_t address : {0x0ULL, 0x100000ULL, 0x3fe00000ULL, 0x40000000ULL, 0xfee00000ULL}) {
    uint64_t pdpte = pdpt[(address >> 30) & 511];
    uint64_t pde = *memory->ReadObject<uint64_t>((pdpte & ~0xfffULL) + ((address >> 21) & 511) * 8);
    EXPECT_EQ(pde & kPageHuge, kPageHuge);
    EXPECT_EQ(pde & ~0x1fffffULL, address & ~0x1fffffULL) << std::hex << address;
  }
}

TEST(VmmGdt, EncodesFlatSegments) {
  EXPECT_EQ(kBootGdt[0], 0u);
  EXPECT_EQ(kBootGdt[kCode32Selector >> 3], 0x00cf9b000000ffffULL);
  EXPECT_EQ(kBootGdt[kCode64Selector >> 3], 0x00af9b000000ffffULL);
  EXPECT_EQ(kBootGdt[kDataSelector >> 3], 0x00cf93000000ffffULL);
  EXPECT_EQ(kBootGdt[kTssSelector >> 3], 0x00008b0000000067ULL);
  EXPECT_EQ(GdtEntry(0x0093, 0x12345678, 0xabcde), 0x120a93345678bcdeULL);
}

TEST(VmmGdt, SegmentsMatchTheirDescriptors) {
  kvm_segment code64 = SegmentFromGdt(kCode64Selector);
  EXPECT_EQ(code64.selector, 0x10);
  EXPECT_EQ(code64.l, 1);
  EXPECT_EQ(code64.db, 0);
  EXPECT_EQ(code64.type, 0xb);
  EXPECT_EQ(code64.present, 1);
  EXPECT_EQ(code64.s, 1);
  EXPECT_EQ(code64.g, 1);
  EXPECT_EQ(code64.limit, 0xffffffffu);
  EXPECT_EQ(code64.base, 0u);
  kvm_segment code32 = SegmentFromGdt(kCode32Selector);
  EXPECT_EQ(code32.l, 0);
  EXPECT_EQ(code32.db, 1);
  kvm_segment data = SegmentFromGdt(kDataSelector);
  EXPECT_EQ(data.type, 0x3);
  EXPECT_EQ(data.selector, 0x18);
  kvm_segment tss = SegmentFromGdt(kTssSelector);
  EXPECT_EQ(tss.type, 0xb);
  EXPECT_EQ(tss.s, 0);
  EXPECT_EQ(tss.limit, 0x67u);
}

TEST(VmmVcpuState, LongModeEntry) {
  BootInfo boot{EntryMode::kLinux64, 0x100200, kZeroPageAddress};
  kvm_regs regs = BootRegs(boot);
  EXPECT_EQ(regs.rip, 0x100200u);
  EXPECT_EQ(regs.rsi, kZeroPageAddress);
  EXPECT_EQ(regs.rflags, 0x2u);
  kvm_sregs sregs{};
  SetBootSregs(sregs, EntryMode::kLinux64);
  EXPECT_EQ(sregs.cs.selector, 0x10);
  EXPECT_EQ(sregs.ds.selector, 0x18);
  EXPECT_EQ(sregs.ss.selector, 0x18);
  EXPECT_EQ(sregs.cr3, kPml4Address);
  EXPECT_TRUE(sregs.cr0 & kCr0Paging);
  EXPECT_TRUE(sregs.cr0 & kCr0ProtectionEnable);
  EXPECT_TRUE(sregs.cr4 & kCr4Pae);
  EXPECT_EQ(sregs.efer & (kEferLme | kEferLma), kEferLme | kEferLma);
  EXPECT_EQ(sregs.gdt.base, kGdtAddress);
  EXPECT_EQ(sregs.gdt.limit, sizeof(kBootGdt) - 1);
}

TEST(VmmVcpuState, PvhEntry) {
  BootInfo boot{EntryMode::kPvh32, 0x1000000, kPvhStartInfoAddress};
  kvm_regs regs = BootRegs(boot);
  EXPECT_EQ(regs.rbx, kPvhStartInfoAddress);
  kvm_sregs sregs{};
  sregs.cr0 = kCr0Paging;  // whatever was there before
  SetBootSregs(sregs, EntryMode::kPvh32);
  EXPECT_EQ(sregs.cs.selector, kCode32Selector);
  EXPECT_EQ(sregs.cs.db, 1);
  EXPECT_FALSE(sregs.cr0 & kCr0Paging);
  EXPECT_TRUE(sregs.cr0 & kCr0ProtectionEnable);
  EXPECT_EQ(sregs.cr4, 0u);
  EXPECT_EQ(sregs.efer, 0u);
  EXPECT_EQ(sregs.tr.selector, kTssSelector);
}

TEST(VmmVcpuState, FpuAndLapic) {
  kvm_fpu fpu = BootFpu();
  EXPECT_EQ(fpu.fcw, 0x37f);
  EXPECT_EQ(fpu.mxcsr, 0x1f80u);
  kvm_lapic_state lapic{};
  uint32_t masked = 0x10000;
  std::memcpy(lapic.regs + kApicLvtLint0, &masked, 4);
  SetLapicLints(lapic);
  EXPECT_EQ(LapicRegister(lapic, kApicLvtLint0), 0x10000u | (7u << 8)) << "ExtINT";
  EXPECT_EQ((LapicRegister(lapic, kApicLvtLint1) >> 8) & 7, 4u) << "NMI";
}

TEST(VmmMsrs, BootValuesFilteredBySupport) {
  auto all = BootMsrs({});
  auto misc = std::find_if(all.begin(), all.end(),
                           [](const kvm_msr_entry& e) { return e.index == kMsrIa32MiscEnable; });
  ASSERT_NE(misc, all.end());
  EXPECT_EQ(misc->data, kMiscEnableFastString);
  auto mtrr = std::find_if(all.begin(), all.end(),
                           [](const kvm_msr_entry& e) { return e.index == kMsrMtrrDefType; });
  ASSERT_NE(mtrr, all.end());
  EXPECT_EQ(mtrr->data, 0x806u) << "MTRRs on, write-back by default";
  auto some = BootMsrs({kMsrLstar, kMsrStar, 0x12345});
  ASSERT_EQ(some.size(), 3u);
  EXPECT_EQ(some[0].index, kMsrStar);
  EXPECT_EQ(some[1].index, kMsrLstar);
  EXPECT_EQ(some[2].index, kMsrMtrrDefType) << "KVM does not list the MTRRs but has them";
}

const kvm_cpuid_entry2* Find(const std::vector<kvm_cpuid_entry2>& table, uint32_t function,
                             uint32_t index = 0) {
  for (const auto& e : table)
    if (e.function == function && e.index == index) return &e;
  return nullptr;
}

std::vector<kvm_cpuid_entry2> SyntheticSupported() {
  return {
      {.function = 0, .eax = 0x1f},
      {.function = 1, .eax = 0x806f8, .ebx = 0x00020800, .ecx = 0x00000001, .edx = 0x178bfbff},
      {.function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x7c004121},
      {.function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 1, .ebx = 2},
      {.function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 4, .ebx = 8},
      {.function = 0x1f, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX},
      {.function = 0x40000000, .eax = 0x40000001},
      {.function = 0x40000001, .eax = 0x01007afb},
      {.function = 0x80000000, .eax = 0x8000001e},
      {.function = 0x80000008, .eax = 0x3030, .ecx = 0x0001707f},  // host: 128 cores, 7 id bits
      {.function = 0x8000001d, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x4121},
      {.function = 0x8000001d,
       .index = 3,
       .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
       .eax = 0x3c163},
      {.function = 0x8000001e, .eax = 0x7f, .ebx = 0x13f, .ecx = 0x300},
  };
}

TEST(VmmCpuid, TopologyAndApicIdPerVcpu) {
  auto table = NormalizeCpuid(SyntheticSupported(), {.apic_id = 5, .vcpu_count = 6});
  const auto* leaf1 = Find(table, 1);
  ASSERT_NE(leaf1, nullptr);
  EXPECT_EQ(leaf1->ebx >> 24, 5u) << "initial APIC id";
  EXPECT_EQ((leaf1->ebx >> 16) & 0xff, 6u) << "logical processors";
  EXPECT_EQ(leaf1->ebx & 0xffff, 0x0800u) << "CLFLUSH size kept";
  EXPECT_TRUE(leaf1->ecx & (1u << 31)) << "hypervisor bit";
  EXPECT_TRUE(leaf1->edx & (1u << 28)) << "HTT with more than one CPU";
  EXPECT_EQ(Find(table, 4)->eax >> 26, 5u) << "cores per package - 1";
  for (uint32_t leaf : {0xbu, 0x1fu}) {
    const auto* smt = Find(table, leaf, 0);
    const auto* core = Find(table, leaf, 1);
    const auto* end = Find(table, leaf, 2);
    ASSERT_TRUE(smt && core && end);
    EXPECT_EQ(smt->ebx, 1u);
    EXPECT_EQ((smt->ecx >> 8) & 0xff, 1u);
    EXPECT_EQ(core->eax, 3u) << "6 cores need 3 bits of APIC id";
    EXPECT_EQ(core->ebx, 6u);
    EXPECT_EQ((core->ecx >> 8) & 0xff, 2u);
    EXPECT_EQ((end->ecx >> 8) & 0xff, 0u);
    EXPECT_EQ(smt->edx, 5u);
    EXPECT_EQ(core->edx, 5u);
  }
}

// The caches and core counts the guest sees are its own, not the host's: private L1/L2, one L3
// shared by all vCPUs; on AMD the core count and core-id bits of leaf 0x80000008 too.
TEST(VmmCpuid, CachesAndAmdCoreCountDescribeTheGuest) {
  auto table = NormalizeCpuid(SyntheticSupported(), {.apic_id = 2, .vcpu_count = 6});
  EXPECT_EQ((Find(table, 4)->eax >> 14) & 0xfff, 0u) << "L1 is private";
  EXPECT_EQ((Find(table, 0x8000001d, 0)->eax >> 14) & 0xfff, 0u) << "L1 is private";
  EXPECT_EQ((Find(table, 0x8000001d, 3)->eax >> 14) & 0xfff, 5u) << "L3 shared by 6 vCPUs";
  EXPECT_EQ(Find(table, 0x8000001d, 3)->eax & 0x3fff, 0x0163u) << "cache type and level kept";
  const auto* amd = Find(table, 0x80000008);
  EXPECT_EQ(amd->ecx & 0xff, 5u) << "6 cores";
  EXPECT_EQ((amd->ecx >> 12) & 0xf, 3u) << "3 APIC id bits number the cores";
  EXPECT_EQ(amd->ecx & 0x30000u, 0x10000u) << "other host bits kept";
  EXPECT_EQ(amd->eax, 0x3030u);
  const auto* ext = Find(table, 0x8000001e);
  EXPECT_EQ(ext->eax, 2u);
  EXPECT_EQ(ext->ebx, 2u) << "core id, one thread per core";
}

TEST(VmmCpuid, SingleVcpuHasNoHtt) {
  auto table = NormalizeCpuid(SyntheticSupported(), {.apic_id = 0, .vcpu_count = 1});
  EXPECT_FALSE(Find(table, 1)->edx & (1u << 28));
  EXPECT_EQ(Find(table, 0xb, 1)->eax, 0u);
}

TEST(VmmCpuid, KvmLeavesAndTscFrequency) {
  auto table =
      NormalizeCpuid(SyntheticSupported(), {.apic_id = 0, .vcpu_count = 1, .tsc_khz = 2500000});
  const auto* signature = Find(table, 0x40000000);
  ASSERT_NE(signature, nullptr);
  char text[13] = {};
  std::memcpy(text, &signature->ebx, 4);
  std::memcpy(text + 4, &signature->ecx, 4);
  std::memcpy(text + 8, &signature->edx, 4);
  EXPECT_STREQ(text, "KVMKVMKVM");
  EXPECT_EQ(signature->eax, 0x40000010u);
  EXPECT_EQ(Find(table, 0x40000001)->eax, 0x01007afbu) << "kvm-clock features kept";
  const auto* timing = Find(table, 0x40000010);
  ASSERT_NE(timing, nullptr);
  EXPECT_EQ(timing->eax, 2500000u);
  EXPECT_EQ(timing->ebx, kKvmApicBusKhz);

  auto no_tsc = NormalizeCpuid(SyntheticSupported(), {.apic_id = 0, .vcpu_count = 1});
  EXPECT_EQ(Find(no_tsc, 0x40000000)->eax, 0x40000001u);
  EXPECT_EQ(Find(no_tsc, 0x40000010), nullptr);
}

TEST(VmmCpuid, AddsTheSignatureWhenKvmDoesNotList) {
  std::vector<kvm_cpuid_entry2> bare = {{.function = 0, .eax = 1}, {.function = 1}};
  auto table = NormalizeCpuid(bare, {.apic_id = 1, .vcpu_count = 2});
  ASSERT_NE(Find(table, 0x40000000), nullptr);
  EXPECT_EQ(Find(table, 0xb), nullptr) << "no topology leaf invented when KVM has none";
}

TEST(VmmKvmCapabilities, EachMissingCapabilityIsNamed) {
  auto r = kvm::CheckCapabilities(kvm::RequiredCapabilities(), [](int cap) {
    return cap == KVM_CAP_IRQFD || cap == KVM_CAP_PIT2 ? 0 : 1;
  });
  ASSERT_FALSE(r);
  std::string text = r.error().ToString();
  EXPECT_NE(text.find("KVM_CAP_IRQFD"), std::string::npos) << text;
  EXPECT_NE(text.find("KVM_CAP_PIT2"), std::string::npos) << text;
  EXPECT_EQ(text.find("KVM_CAP_IRQCHIP"), std::string::npos) << text;
  EXPECT_TRUE(kvm::CheckCapabilities(kvm::RequiredCapabilities(), [](int) { return 1; }));
}

}  // namespace
}  // namespace hull::vmm::x86_64
