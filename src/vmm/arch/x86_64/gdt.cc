#include "vmm/arch/x86_64/gdt.h"

namespace hull::vmm::x86_64 {

kvm_segment SegmentFromGdt(uint16_t selector) {
  uint64_t entry = kBootGdt[selector >> 3];
  kvm_segment segment{};
  segment.base = static_cast<uint64_t>(((entry >> 16) & 0xffffff) | ((entry >> 32) & 0xff000000));
  uint32_t limit = static_cast<uint32_t>((entry & 0xffff) | ((entry >> 32) & 0xf0000));
  segment.g = (entry >> 55) & 1;
  segment.limit = segment.g ? (limit << 12) | 0xfff : limit;
  segment.selector = selector;
  segment.type = (entry >> 40) & 0xf;
  segment.s = (entry >> 44) & 1;
  segment.dpl = (entry >> 45) & 3;
  segment.present = (entry >> 47) & 1;
  segment.avl = (entry >> 52) & 1;
  segment.l = (entry >> 53) & 1;
  segment.db = (entry >> 54) & 1;
  segment.unusable = segment.present ? 0 : 1;
  return segment;
}

Result<void> WriteGdt(const memory::GuestMemory& memory, uint64_t address) {
  return memory.WriteObject(address, kBootGdt);
}

}  // namespace hull::vmm::x86_64
