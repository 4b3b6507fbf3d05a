#include "vmm/arch/x86_64/msrs.h"

#include <algorithm>

namespace hull::vmm::x86_64 {

std::vector<kvm_msr_entry> BootMsrs(const std::vector<uint32_t>& supported) {
  const std::vector<kvm_msr_entry> all = {
      {kMsrIa32SysenterCs, 0, 0},   {kMsrIa32SysenterEsp, 0, 0}, {kMsrIa32SysenterEip, 0, 0},
      {kMsrStar, 0, 0},             {kMsrCstar, 0, 0},           {kMsrKernelGsBase, 0, 0},
      {kMsrSyscallMask, 0, 0},      {kMsrLstar, 0, 0},           {kMsrIa32Tsc, 0, 0},
      {kMsrIa32MiscEnable, 0, kMiscEnableFastString},
  };
  if (supported.empty()) return all;
  std::vector<kvm_msr_entry> out;
  for (const kvm_msr_entry& entry : all) {
    if (std::find(supported.begin(), supported.end(), entry.index) != supported.end())
      out.push_back(entry);
  }
  return out;
}

}  // namespace hull::vmm::x86_64
