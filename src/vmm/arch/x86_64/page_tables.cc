#include "vmm/arch/x86_64/page_tables.h"

#include <array>

#include "vmm/arch/x86_64/layout.h"

namespace hull::vmm::x86_64 {

Result<void> WriteIdentityPageTables(const memory::GuestMemory& memory) {
  constexpr uint64_t kTwoMiB = 2ULL << 20;
  constexpr uint64_t kDirectories = kIdentityMappedBytes / (512 * kTwoMiB);
  std::array<uint64_t, 512> table{};
  table[0] = kPdptAddress | kPagePresent | kPageWritable;
  TRY(memory.WriteObject(kPml4Address, table));
  table.fill(0);
  for (uint64_t i = 0; i < kDirectories; ++i)
    table[i] = (kPdAddress + i * 4096) | kPagePresent | kPageWritable;
  TRY(memory.WriteObject(kPdptAddress, table));
  for (uint64_t directory = 0; directory < kDirectories; ++directory) {
    for (uint64_t i = 0; i < 512; ++i)
      table[i] = ((directory * 512 + i) * kTwoMiB) | kPagePresent | kPageWritable | kPageHuge;
    TRY(memory.WriteObject(kPdAddress + directory * 4096, table));
  }
  return {};
}

}  // namespace hull::vmm::x86_64
