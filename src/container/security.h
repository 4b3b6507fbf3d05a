// Capabilities, seccomp, rlimits and personality: planned in the runtime (parent) process from
// the spec, applied in the container's init between clone() and execve() without allocating.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>

#include <array>
#include <cstdint>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace hull::container {

// ---- capabilities ----------------------------------------------------------------------------
struct CapabilityPlan {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
  unsigned last_cap = 40;  // from /proc/sys/kernel/cap_last_cap
};
// Names as in the spec ("CAP_NET_ADMIN"); an unknown name is an error naming it. A capability
// the running kernel does not know is skipped with a warning, as runc does.
[[nodiscard]] Result<CapabilityPlan> PlanCapabilities(const oci::Capabilities& caps,
                                                      std::string_view field);
// Async-signal-safe. Drops the bounding set, sets effective/permitted/inheritable with capset,
// raises ambient. Returns 0 or -errno.
int ApplyCapabilities(const CapabilityPlan& plan) noexcept;

// ---- seccomp -------------------------------------------------------------------------------
struct SeccompPlan {
  std::vector<sock_filter> program;  // compiled by libseccomp in the parent
  unsigned flags = 0;                // SECCOMP_FILTER_FLAG_*
};
// Compiles the profile (default action, per-syscall rules with argument comparisons, errnoRet,
// architectures, flags). Unknown syscall names are skipped (the profile may name syscalls this
// kernel/libseccomp lacks, as Docker's default does); unknown actions, operators and
// architectures are errors naming the field. SCMP_ACT_NOTIFY is rejected clearly.
[[nodiscard]] Result<SeccompPlan> CompileSeccomp(const oci::Seccomp& seccomp);
// Async-signal-safe. Installs the program with seccomp(2). Returns 0 or -errno.
int LoadSeccomp(const SeccompPlan& plan) noexcept;

// ---- rlimits and personality -----------------------------------------------------------------
struct RlimitPlan {
  int resource = 0;
  rlimit limit{};
};
[[nodiscard]] Result<std::vector<RlimitPlan>> PlanRlimits(const std::vector<oci::Rlimit>& rlimits);
[[nodiscard]] Result<unsigned long> PlanPersonality(const oci::Personality& personality);

}  // namespace hull::container
