#include "vmm/arch/x86_64/msrs.h"

#include <algorithm>

namespace hull::vmm::x86_64 {

std::vector<kvm_msr_entry> BootMsrs(const std::vector<uint32_t>& supported) {
  const std::vector<kvm_msr_entry> all = {
      {kMsrIa32SysenterCs, 0, 0},  {kMsrIa32SysenterEsp, 0, 0},
      {kMsrIa32SysenterEip, 0, 0}, {kMsrStar, 0, 0},
      {kMsrCstar, 0, 0},           {kMsrKernelGsBase, 0, 0},
      {kMsrSyscallMask, 0, 0},     {kMsrLstar, 0, 0},
      {kMsrIa32Tsc, 0, 0},         {kMsrIa32MiscEnable, 0, kMiscEnableFastString},
  };
  std::vector<kvm_msr_entry> out;
  for (const kvm_msr_entry& entry : all) {
    if (supported.empty() ||
        std::find(supported.begin(), supported.end(), entry.index) != supported.end())
      out.push_back(entry);
  }
  // KVM emulates the MTRRs for every vCPU with the MTRR CPUID bit but does not list them in
  // KVM_GET_MSR_INDEX_LIST, so this one is not filtered.
  out.push_back({kMsrMtrrDefType, 0, kMtrrDefTypeWriteBack});
  return out;
}

}  // namespace hull::vmm::x86_64
