#include "container/exec_trampoline.h"

#include <algorithm>
#include <cstddef>
#include <string>

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

Result<linux::UniqueFd> UseExecTrampoline(ProcessPlan& process, int report_fd) {
  linux::UniqueFd trampoline = TRY(MakeExecTrampoline());
  process.trampoline_fd = trampoline.get();
  process.trampoline_report_fd = report_fd;
  process.trampoline_report_fd_text = std::to_string(report_fd);
  process.trampoline_argv.clear();
  process.trampoline_argv.push_back(process.trampoline_report_fd_text.data());
  process.trampoline_argv.push_back(nullptr);  // the program, chosen in the child
  for (auto& arg : process.args) process.trampoline_argv.push_back(arg.data());
  process.trampoline_argv.push_back(nullptr);
  return trampoline;
}

bool ContainerMayPtrace(const oci::Spec& spec) {
  if (!spec.process || !spec.process->capabilities) return false;
  const auto& bounding = spec.process->capabilities->bounding;
  return std::find(bounding.begin(), bounding.end(), "CAP_SYS_PTRACE") != bounding.end();
}

}  // namespace hull::container
