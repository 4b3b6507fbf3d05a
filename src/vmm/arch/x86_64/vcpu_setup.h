// The architectural state a vCPU starts with: registers, segment/control registers, FPU, MSRs,
// CPUID and the local APIC's LINT pins. The builders are pure (unit-tested); ConfigureVcpu
// applies them through a VcpuFd.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "vmm/arch/x86_64/kernel_loader.h"
#include "vmm/kvm/vcpu_fd.h"

namespace hull::vmm::x86_64 {

inline constexpr uint64_t kCr0ProtectionEnable = 1ULL << 0;
inline constexpr uint64_t kCr0ExtensionType = 1ULL << 4;
inline constexpr uint64_t kCr0Paging = 1ULL << 31;
inline constexpr uint64_t kCr4Pae = 1ULL << 5;
inline constexpr uint64_t kEferLme = 1ULL << 8;
inline constexpr uint64_t kEferLma = 1ULL << 10;
// Local APIC register offsets and delivery modes for the LINT pins.
inline constexpr size_t kApicLvtLint0 = 0x350;
inline constexpr size_t kApicLvtLint1 = 0x360;
inline constexpr uint32_t kApicDeliveryExtInt = 7;
inline constexpr uint32_t kApicDeliveryNmi = 4;

kvm_regs BootRegs(const BootInfo& boot);
// Rewrites `sregs` (as read from KVM) for the entry mode.
void SetBootSregs(kvm_sregs& sregs, EntryMode mode);
kvm_fpu BootFpu();
// LINT0 as ExtINT (the legacy PIC's output), LINT1 as NMI.
void SetLapicLints(kvm_lapic_state& lapic);
uint32_t LapicRegister(const kvm_lapic_state& lapic, size_t offset);

struct VcpuSetup {
  const BootInfo* boot = nullptr;  // entry state; used for the boot vCPU only
  const std::vector<kvm_cpuid_entry2>* supported_cpuid = nullptr;
  const std::vector<uint32_t>* supported_msrs = nullptr;
  uint32_t vcpu_count = 1;
};

// Sets CPUID, MSRs, LAPIC LINTs and FPU on any vCPU, and the entry registers on vCPU 0. The other
// vCPUs wait for INIT/SIPI from the boot vCPU (the in-kernel LAPIC handles that).
[[nodiscard]] Result<void> ConfigureVcpu(kvm::VcpuFd& vcpu, const VcpuSetup& setup);

}  // namespace hull::vmm::x86_64
