// CPUID for a guest vCPU, derived from what KVM supports (KVM_GET_SUPPORTED_CPUID).
// Pure: unit-tested on synthetic tables.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace hull::vmm::x86_64 {

struct CpuidTopology {
  uint32_t apic_id = 0;     // this vCPU's APIC id (hull-vmm uses the vCPU index)
  uint32_t vcpu_count = 1;  // one socket, one thread per core, vcpu_count cores
  uint32_t tsc_khz = 0;     // 0: unknown, leaf 0x40000010 left out
};

inline constexpr uint32_t kHypervisorBaseLeaf = 0x40000000;
inline constexpr uint32_t kHypervisorTimingLeaf = 0x40000010;
// Local APIC timer frequency KVM emulates (1 GHz), reported in leaf 0x40000010 EBX (kHz).
inline constexpr uint32_t kKvmApicBusKhz = 1000000;

// Returns the table a vCPU gets: APIC ids and core counts in leaves 1, 4, 0xb, 0x1f and
// 0x8000001e; the hypervisor bit in leaf 1; the KVM signature leaf 0x40000000 ("KVMKVMKVM");
// KVM's feature leaf 0x40000001 (kvm-clock) kept as KVM reports it; and the TSC/APIC frequency
// leaf 0x40000010 when the TSC frequency is known.
std::vector<kvm_cpuid_entry2> NormalizeCpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                             const CpuidTopology& topology);

}  // namespace hull::vmm::x86_64
