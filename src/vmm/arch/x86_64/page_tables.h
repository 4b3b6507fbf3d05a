// Identity-mapped page tables for entering a kernel in long mode: the first 4 GiB mapped with
// 2 MiB pages (PML4 -> one PDPT -> four page directories), at the addresses in layout.h.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "vmm/memory/guest_memory.h"

namespace hull::vmm::x86_64 {

inline constexpr uint64_t kPagePresent = 1ULL << 0;
inline constexpr uint64_t kPageWritable = 1ULL << 1;
inline constexpr uint64_t kPageHuge = 1ULL << 7;  // PS: a 2 MiB page in a page directory

[[nodiscard]] Result<void> WriteIdentityPageTables(const memory::GuestMemory& memory);

}  // namespace hull::vmm::x86_64
