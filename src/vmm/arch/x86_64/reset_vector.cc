#include "vmm/arch/x86_64/reset_vector.h"

namespace hull::vmm::x86_64 {

Result<void> WriteResetVector(const memory::GuestMemory& memory) {
  TRY_CTX(memory.Write(kResetVectorAddress, kResetVectorStub), "write the reset vector stub");
  return {};
}

}  // namespace hull::vmm::x86_64
