#include "container/exec_trampoline.h"

#include <cstddef>

#include "container/init.h"
#include "linux/sealed_self.h"

extern const unsigned char kExecTrampoline[];
extern const std::size_t kExecTrampoline_size;

namespace hull::container {

// The trampoline writes a SyncMessage with plain C; keep the layouts in step.
static_assert(SyncMessage::kFailed == 6);
static_assert(offsetof(SyncMessage, report) == 8 && offsetof(ChildReport, what) == 4);
static_assert(sizeof(ChildReport::what) == 480 && sizeof(SyncMessage) == 492);

Result<linux::UniqueFd> MakeExecTrampoline() {
  return linux::SealedMemfd("hull-exec-trampoline", kExecTrampoline, kExecTrampoline_size);
}

}  // namespace hull::container
