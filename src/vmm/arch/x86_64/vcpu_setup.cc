#include "vmm/arch/x86_64/vcpu_setup.h"

#include <cstring>

#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/arch/x86_64/gdt.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/msrs.h"

namespace hull::vmm::x86_64 {

kvm_regs BootRegs(const BootInfo& boot) {
  kvm_regs regs{};
  regs.rflags = 0x2;  // bit 1 is always set; interrupts off
  regs.rip = boot.entry;
  if (boot.mode == EntryMode::kPvh32) {
    regs.rbx = boot.boot_structure;
  } else {
    regs.rsp = kBootStackPointer;
    regs.rbp = kBootStackPointer;
    regs.rsi = boot.boot_structure;
  }
  return regs;
}

void SetBootSregs(kvm_sregs& sregs, EntryMode mode) {
  sregs.gdt.base = kGdtAddress;
  sregs.gdt.limit = sizeof(kBootGdt) - 1;
  sregs.idt.base = kIdtAddress;
  sregs.idt.limit = 7;
  kvm_segment data = SegmentFromGdt(kDataSelector);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
  sregs.tr = SegmentFromGdt(kTssSelector);
  if (mode == EntryMode::kPvh32) {
    sregs.cs = SegmentFromGdt(kCode32Selector);
    sregs.cr0 = (sregs.cr0 | kCr0ProtectionEnable | kCr0ExtensionType) & ~kCr0Paging;
    sregs.cr4 = 0;
    sregs.efer = 0;
  } else {
    sregs.cs = SegmentFromGdt(kCode64Selector);
    sregs.cr3 = kPml4Address;
    sregs.cr4 |= kCr4Pae;
    sregs.cr0 |= kCr0ProtectionEnable | kCr0ExtensionType | kCr0Paging;
    sregs.efer |= kEferLme | kEferLma;
  }
}

kvm_fpu BootFpu() {
  kvm_fpu fpu{};
  fpu.fcw = 0x37f;    // x87 default control word: all exceptions masked, 64-bit precision
  fpu.mxcsr = 0x1f80; // SSE default: all exceptions masked, round to nearest
  return fpu;
}

uint32_t LapicRegister(const kvm_lapic_state& lapic, size_t offset) {
  uint32_t value;
  std::memcpy(&value, lapic.regs + offset, sizeof(value));
  return value;
}

namespace {
void SetDeliveryMode(kvm_lapic_state& lapic, size_t offset, uint32_t mode) {
  uint32_t value = LapicRegister(lapic, offset);
  value = (value & ~(7u << 8)) | (mode << 8);
  std::memcpy(lapic.regs + offset, &value, sizeof(value));
}
}  // namespace

void SetLapicLints(kvm_lapic_state& lapic) {
  SetDeliveryMode(lapic, kApicLvtLint0, kApicDeliveryExtInt);
  SetDeliveryMode(lapic, kApicLvtLint1, kApicDeliveryNmi);
}

Result<void> ConfigureVcpu(kvm::VcpuFd& vcpu, const VcpuSetup& setup) {
  CpuidTopology topology{vcpu.id(), setup.vcpu_count, vcpu.TscKhz()};
  TRY(vcpu.SetCpuid(NormalizeCpuid(*setup.supported_cpuid, topology)));
  TRY(vcpu.SetMsrs(BootMsrs(*setup.supported_msrs)));
  kvm_lapic_state lapic = TRY(vcpu.GetLapic());
  SetLapicLints(lapic);
  TRY(vcpu.SetLapic(lapic));
  TRY(vcpu.SetFpu(BootFpu()));
  if (vcpu.id() == 0) {
    kvm_sregs sregs = TRY(vcpu.GetSregs());
    SetBootSregs(sregs, setup.boot->mode);
    TRY(vcpu.SetSregs(sregs));
    TRY(vcpu.SetRegs(BootRegs(*setup.boot)));
  }
  return {};
}

}  // namespace hull::vmm::x86_64
