// Resource limits and execution domain: resolved in the runtime, applied by the container's init
// with setrlimit(2)/prlimit(2) and personality(2).
#include <sys/personality.h>
#include <sys/resource.h>

#include <array>
#include <string>
#include <string_view>

#include "container/security.h"

namespace hull::container {
namespace {

struct RlimitName {
  std::string_view name;
  int resource;
};

constexpr std::array kRlimitNames = {
    RlimitName{"RLIMIT_AS", RLIMIT_AS},
    RlimitName{"RLIMIT_CORE", RLIMIT_CORE},
    RlimitName{"RLIMIT_CPU", RLIMIT_CPU},
    RlimitName{"RLIMIT_DATA", RLIMIT_DATA},
    RlimitName{"RLIMIT_FSIZE", RLIMIT_FSIZE},
    RlimitName{"RLIMIT_LOCKS", RLIMIT_LOCKS},
    RlimitName{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    RlimitName{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    RlimitName{"RLIMIT_NICE", RLIMIT_NICE},
    RlimitName{"RLIMIT_NOFILE", RLIMIT_NOFILE},
    RlimitName{"RLIMIT_NPROC", RLIMIT_NPROC},
    RlimitName{"RLIMIT_RSS", RLIMIT_RSS},
    RlimitName{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    RlimitName{"RLIMIT_RTTIME", RLIMIT_RTTIME},
    RlimitName{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    RlimitName{"RLIMIT_STACK", RLIMIT_STACK},
};
static_assert(kRlimitNames.size() == RLIMIT_NLIMITS, "an rlimit is missing a name");

}  // namespace

Result<std::vector<RlimitPlan>> PlanRlimits(const std::vector<oci::Rlimit>& rlimits) {
  std::vector<RlimitPlan> plans;
  plans.reserve(rlimits.size());
  for (size_t i = 0; i < rlimits.size(); ++i) {
    const oci::Rlimit& spec = rlimits[i];
    const std::string field = "process.rlimits[" + std::to_string(i) + "]";
    const RlimitName* found = nullptr;
    for (const auto& entry : kRlimitNames) {
      if (entry.name == spec.type) found = &entry;
    }
    if (!found) return Fail(field + ".type: unknown rlimit " + Quote(spec.type));
    if (spec.soft > spec.hard) {
      return Fail(field + ": soft limit " + std::to_string(spec.soft) +
                  " is greater than hard limit " + std::to_string(spec.hard) + " for " + spec.type);
    }
    for (size_t j = 0; j < i; ++j) {
      if (rlimits[j].type == spec.type) {
        return Fail(field + ".type: " + Quote(spec.type) + " is already set by process.rlimits[" +
                    std::to_string(j) + "]");
      }
    }
    // The spec's values are the kernel's: 2^64-1 is RLIM_INFINITY.
    plans.push_back(RlimitPlan{
        found->resource, rlimit{static_cast<rlim_t>(spec.soft), static_cast<rlim_t>(spec.hard)}});
  }
  return plans;
}

Result<unsigned long> PlanPersonality(const oci::Personality& personality) {
  if (!personality.flags.empty()) {
    return Fail("linux.personality.flags: personality flags are not supported (got " +
                Quote(personality.flags.front()) + ")");
  }
  if (personality.domain == "LINUX") return static_cast<unsigned long>(PER_LINUX);
  if (personality.domain == "LINUX32") return static_cast<unsigned long>(PER_LINUX32);
  return Fail("linux.personality.domain: unknown domain " + Quote(personality.domain));
}

}  // namespace hull::container
