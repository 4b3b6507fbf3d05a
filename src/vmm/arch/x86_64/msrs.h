// Model-specific registers set on every vCPU before it runs.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace hull::vmm::x86_64 {

inline constexpr uint32_t kMsrIa32Tsc = 0x10;
inline constexpr uint32_t kMsrIa32SysenterCs = 0x174;
inline constexpr uint32_t kMsrIa32SysenterEsp = 0x175;
inline constexpr uint32_t kMsrIa32SysenterEip = 0x176;
inline constexpr uint32_t kMsrIa32MiscEnable = 0x1a0;
inline constexpr uint32_t kMsrMtrrDefType = 0x2ff;
// MTRRs enabled (bit 11) with write-back (6) as the default memory type: without it Linux sees
// MTRRs disabled, turns PAT off and maps all memory uncached until it sets up its own.
inline constexpr uint64_t kMtrrDefTypeWriteBack = (1u << 11) | 6;
inline constexpr uint32_t kMsrStar = 0xc0000081;
inline constexpr uint32_t kMsrLstar = 0xc0000082;
inline constexpr uint32_t kMsrCstar = 0xc0000083;
inline constexpr uint32_t kMsrSyscallMask = 0xc0000084;
inline constexpr uint32_t kMsrKernelGsBase = 0xc0000102;
inline constexpr uint64_t kMiscEnableFastString = 1;

// The boot values: SYSENTER/SYSCALL MSRs cleared, TSC 0, fast-string operations enabled.
// `supported` (KVM_GET_MSR_INDEX_LIST) filters out MSRs this KVM cannot save/restore; empty
// means "keep all".
std::vector<kvm_msr_entry> BootMsrs(const std::vector<uint32_t>& supported);

}  // namespace hull::vmm::x86_64
