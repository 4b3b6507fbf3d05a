// KVM ioctls whose argument struct ends in a flexible array member, done without those structs.
//
// <linux/kvm.h> (6.1) declares the arrays with __DECLARE_FLEX_ARRAY, which wraps them in a
// struct holding an empty struct. An empty struct has size 1 in C++ (0 in C), so compiled as
// C++ `kvm_cpuid2::entries` sits at offset 12 instead of 8, and the ioctl numbers built from
// sizeof() change too: the kernel rejects them with EINVAL. hull uses these C-layout headers
// followed directly by the array instead.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace hull::vmm::kvm::ioctls {

struct Cpuid2Header {  // struct kvm_cpuid2 without its entries; kvm_cpuid_entry2[] follows
  uint32_t nent;
  uint32_t padding;
};
struct MsrsHeader {  // struct kvm_msrs; kvm_msr_entry[] follows
  uint32_t nmsrs;
  uint32_t pad;
};
struct MsrListHeader {  // struct kvm_msr_list; uint32_t indices[] follow
  uint32_t nmsrs;
};
struct IrqRoutingHeader {  // struct kvm_irq_routing; kvm_irq_routing_entry[] follows
  uint32_t nr;
  uint32_t flags;
};

inline constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);
inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, Cpuid2Header);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, Cpuid2Header);
inline constexpr unsigned long kSetGsiRouting = _IOW(KVMIO, 0x6a, IrqRoutingHeader);

// The values C code gets from <linux/kvm.h> on x86_64.
static_assert(kGetSupportedCpuid == 0xc008ae05);
static_assert(kGetMsrIndexList == 0xc004ae02);
static_assert(kSetCpuid2 == 0x4008ae90);
static_assert(kGetMsrs == 0xc008ae88);
static_assert(kSetMsrs == 0x4008ae89);
static_assert(kSetGsiRouting == 0x4008ae6a);

}  // namespace hull::vmm::kvm::ioctls
