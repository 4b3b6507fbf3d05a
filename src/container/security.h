// Capabilities, seccomp, rlimits and personality: planned in the runtime (parent) process from
// the spec, applied in the container's init between clone() and execve() without allocating.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace hull::container {

// ---- capabilities ----------------------------------------------------------------------------
struct CapabilityPlan {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
  unsigned last_cap = 40;  // from /proc/sys/kernel/cap_last_cap
};
// Names as in the spec ("CAP_NET_ADMIN", exact spelling); an unknown name is an error naming the
// field and index: `process.capabilities.bounding[2]: unknown capability "CAP_FOO"`, where
// `field` is the prefix ("process.capabilities"). A capability the running kernel does not know
// (above /proc/sys/kernel/cap_last_cap) is left out of the plan with a warning, as runc does.
[[nodiscard]] Result<CapabilityPlan> PlanCapabilities(const oci::Capabilities& caps,
                                                      std::string_view field);
// As PlanCapabilities, for a kernel whose last capability is `last_cap` (tests; callers that
// already read it).
[[nodiscard]] Result<CapabilityPlan> PlanCapabilitiesForKernel(const oci::Capabilities& caps,
                                                               std::string_view field,
                                                               unsigned last_cap);
// Async-signal-safe, no allocation. In order: makes the current permitted set effective (so that
// CAP_SETPCAP is usable), drops every capability 0..last_cap not in plan.bounding from the
// bounding set, sets effective/permitted/inheritable with capset(2), clears the ambient set and
// raises plan.ambient. Returns 0 or -errno (EPERM when the caller lacks what the plan keeps).
//
// Caller state: every capability in plan.permitted, and CAP_SETPCAP if the bounding set
// shrinks, must be in the calling thread's permitted set. For a non-root process user the init
// sets PR_SET_KEEPCAPS (or SECBIT_KEEP_CAPS) before setresuid() so the permitted set survives
// the uid change (the effective set does not; this function restores it), then calls this. Call
// it after the last uid change: leaving uid 0 afterwards would clear the ambient set (and,
// without KEEPCAPS, the others). Capability sets are per thread: call it single-threaded, as the
// init is. Securebits are left alone.
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
// As CompileSeccomp, reusing the program compiled earlier for an identical profile by the same
// libseccomp on this architecture (compiling Docker's default profile costs ~10 ms of CPU). The
// cache lives in `cache_dir` (e.g. <state root>/seccomp-cache), created 0700 if missing; it must
// belong to the effective user and be writable by no one else (whoever can write it picks the
// next container's filter), otherwise it is ignored with a warning. A cache that cannot be read
// or written only costs the compile. Safe to call from concurrent runtime processes.
[[nodiscard]] Result<SeccompPlan> CompileSeccompCached(const oci::Seccomp& seccomp,
                                                       const std::string& cache_dir);
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
