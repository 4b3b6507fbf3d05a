#include "vmm/arch/x86_64/cpuid.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace hull::vmm::x86_64 {
namespace {

constexpr uint32_t kLeaf1HypervisorBit = 1u << 31;  // ECX
constexpr uint32_t kLeaf1HttBit = 1u << 28;         // EDX

// x2APIC topology: level 0 is SMT (one thread per core), level 1 is cores.
void AddTopologyLeaf(std::vector<kvm_cpuid_entry2>& out, uint32_t function,
                     const CpuidTopology& topology) {
  uint32_t core_shift = topology.vcpu_count <= 1 ? 0 : std::bit_width(topology.vcpu_count - 1);
  for (uint32_t index = 0; index < 3; ++index) {
    kvm_cpuid_entry2 entry{};
    entry.function = function;
    entry.index = index;
    entry.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    entry.edx = topology.apic_id;
    if (index == 0) {
      entry.eax = 0;
      entry.ebx = 1;
      entry.ecx = (1u << 8) | index;  // level type 1: SMT
    } else if (index == 1) {
      entry.eax = core_shift;
      entry.ebx = topology.vcpu_count;
      entry.ecx = (2u << 8) | index;  // level type 2: core
    } else {
      entry.ecx = index;  // level type 0: invalid, ends the enumeration
    }
    out.push_back(entry);
  }
}

// Cache description leaves (Intel leaf 4, AMD leaf 0x8000001d) share a layout: EAX 7:5 is the
// cache level, EAX 25:14 the number of logical processors sharing the cache minus one. Every
// vCPU has private L1 and L2 caches and all of them share the last level (L3), so the guest's
// scheduler sees the machine it was given, not the host's.
uint32_t WithCacheSharing(uint32_t eax, uint32_t vcpu_count) {
  uint32_t level = (eax >> 5) & 7;
  uint32_t sharing = level >= 3 ? std::min<uint32_t>(vcpu_count, 4096) - 1 : 0;
  return (eax & ~(0xfffu << 14)) | (sharing << 14);
}

}  // namespace

std::vector<kvm_cpuid_entry2> NormalizeCpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                             const CpuidTopology& topology) {
  std::vector<kvm_cpuid_entry2> out;
  bool have_signature = false;
  bool added_topology[2] = {false, false};
  for (kvm_cpuid_entry2 entry : supported) {
    switch (entry.function) {
      case 1:
        entry.ebx = (entry.ebx & 0x0000ffffu) | (topology.apic_id << 24) |
                    (std::min<uint32_t>(topology.vcpu_count, 255) << 16);
        entry.ecx |= kLeaf1HypervisorBit;
        if (topology.vcpu_count > 1)
          entry.edx |= kLeaf1HttBit;
        else
          entry.edx &= ~kLeaf1HttBit;
        break;
      case 4:
        // Cores per package minus one (EAX 31:26), and who shares this cache (EAX 25:14).
        entry.eax = WithCacheSharing(entry.eax, topology.vcpu_count);
        entry.eax =
            (entry.eax & 0x03ffffffu) | ((std::min<uint32_t>(topology.vcpu_count, 64) - 1) << 26);
        break;
      case 0x8000001d:
        entry.eax = WithCacheSharing(entry.eax, topology.vcpu_count);
        break;
      case 0x80000008: {
        // AMD: ECX 7:0 is the number of cores minus one, ECX 15:12 the APIC id bits that
        // number cores (Linux derives the package from both); the other bits stay the host's.
        uint32_t core_bits = topology.vcpu_count <= 1 ? 0 : std::bit_width(topology.vcpu_count - 1);
        entry.ecx = (entry.ecx & ~0xf0ffu) | (core_bits << 12) |
                    (std::min<uint32_t>(topology.vcpu_count, 256) - 1);
        break;
      }
      case 0xb:
      case 0x1f: {
        bool& added = added_topology[entry.function == 0x1f];
        if (!added) AddTopologyLeaf(out, entry.function, topology);
        added = true;
        continue;
      }
      case 0x8000001e:
        entry.eax = topology.apic_id;         // extended APIC id
        entry.ebx = topology.apic_id & 0xff;  // core id, one thread per core
        entry.ecx = 0;                        // node 0
        break;
      case kHypervisorBaseLeaf:
        have_signature = true;
        break;
      case kHypervisorTimingLeaf:
        continue;  // rebuilt below from the measured TSC frequency
      default:
        break;
    }
    out.push_back(entry);
  }
  // The KVM signature leaf: max hypervisor leaf and "KVMKVMKVM\0\0\0".
  auto signature = std::find_if(out.begin(), out.end(), [](const kvm_cpuid_entry2& e) {
    return e.function == kHypervisorBaseLeaf;
  });
  if (!have_signature) {
    out.push_back(kvm_cpuid_entry2{.function = kHypervisorBaseLeaf});
    signature = out.end() - 1;
  }
  const char kSignature[12] = {'K', 'V', 'M', 'K', 'V', 'M', 'K', 'V', 'M', 0, 0, 0};
  std::memcpy(&signature->ebx, kSignature, 4);
  std::memcpy(&signature->ecx, kSignature + 4, 4);
  std::memcpy(&signature->edx, kSignature + 8, 4);
  signature->eax = topology.tsc_khz != 0 ? kHypervisorTimingLeaf : kHypervisorBaseLeaf + 1;
  if (topology.tsc_khz != 0) {
    out.push_back(kvm_cpuid_entry2{
        .function = kHypervisorTimingLeaf, .eax = topology.tsc_khz, .ebx = kKvmApicBusKhz});
  }
  return out;
}

}  // namespace hull::vmm::x86_64
