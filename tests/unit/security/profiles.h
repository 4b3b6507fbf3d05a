// Seccomp profiles for the tests, built in code.
#pragma once

#include <seccomp.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "oci/runtime_spec.h"

namespace hull::container::testing {

inline oci::SeccompSyscall Rule(std::vector<std::string> names, std::string action,
                                std::vector<oci::SeccompArg> args = {},
                                std::optional<unsigned> errno_ret = std::nullopt) {
  oci::SeccompSyscall rule;
  rule.names = std::move(names);
  rule.action = std::move(action);
  rule.args = std::move(args);
  rule.errno_ret = errno_ret;
  return rule;
}

inline oci::Seccomp Profile(std::string default_action, std::vector<oci::SeccompSyscall> rules) {
  oci::Seccomp seccomp;
  seccomp.default_action = std::move(default_action);
  seccomp.syscalls = std::move(rules);
  return seccomp;
}

// A profile the size of Docker's default: every system call libseccomp knows on this
// architecture in one allow rule (about 350 names), a few argument rules, the three x86
// architectures, default ERRNO.
inline oci::Seccomp DockerSizedProfile() {
  oci::SeccompSyscall allow = Rule({}, "SCMP_ACT_ALLOW");
  for (int number = 0; number < 1024; ++number) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
    if (!name) continue;
    std::string text(name);
    std::free(name);
    if (text == "personality" || text == "clone" || text == "socket") continue;
    allow.names.push_back(text);
  }
  oci::Seccomp seccomp = Profile("SCMP_ACT_ERRNO", {allow});
  for (uint64_t persona : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull}) {
    seccomp.syscalls.push_back(
        Rule({"personality"}, "SCMP_ACT_ALLOW", {{0, persona, 0, "SCMP_CMP_EQ"}}));
  }
  seccomp.syscalls.push_back(
      Rule({"clone"}, "SCMP_ACT_ALLOW", {{0, 0x7e020000, 0, "SCMP_CMP_MASKED_EQ"}}));
  seccomp.syscalls.push_back(Rule({"socket"}, "SCMP_ACT_ALLOW", {{0, 40, 0, "SCMP_CMP_NE"}}));
  seccomp.syscalls.push_back(Rule({"clone3"}, "SCMP_ACT_ERRNO", {}, 38));
  seccomp.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  return seccomp;
}

// CPU time of this process, in milliseconds: less disturbed than wall time by other work.
inline double CpuMillis() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

}  // namespace hull::container::testing
