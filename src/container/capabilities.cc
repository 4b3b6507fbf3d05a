// Capability sets: names resolved in the runtime, applied in the container's init.
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

#include "base/log.h"
#include "base/strings.h"
#include "container/security.h"
#include "linux/file.h"

namespace hull::container {
namespace {

struct CapabilityName {
  std::string_view name;
  unsigned bit;
};

// Every capability the kernel headers we build against know. A kernel may know more (the
// bounding set drop covers those, as they are never in a plan) or fewer (see PlanCapabilities).
constexpr std::array kCapabilityNames = {
    CapabilityName{"CAP_CHOWN", CAP_CHOWN},
    CapabilityName{"CAP_DAC_OVERRIDE", CAP_DAC_OVERRIDE},
    CapabilityName{"CAP_DAC_READ_SEARCH", CAP_DAC_READ_SEARCH},
    CapabilityName{"CAP_FOWNER", CAP_FOWNER},
    CapabilityName{"CAP_FSETID", CAP_FSETID},
    CapabilityName{"CAP_KILL", CAP_KILL},
    CapabilityName{"CAP_SETGID", CAP_SETGID},
    CapabilityName{"CAP_SETUID", CAP_SETUID},
    CapabilityName{"CAP_SETPCAP", CAP_SETPCAP},
    CapabilityName{"CAP_LINUX_IMMUTABLE", CAP_LINUX_IMMUTABLE},
    CapabilityName{"CAP_NET_BIND_SERVICE", CAP_NET_BIND_SERVICE},
    CapabilityName{"CAP_NET_BROADCAST", CAP_NET_BROADCAST},
    CapabilityName{"CAP_NET_ADMIN", CAP_NET_ADMIN},
    CapabilityName{"CAP_NET_RAW", CAP_NET_RAW},
    CapabilityName{"CAP_IPC_LOCK", CAP_IPC_LOCK},
    CapabilityName{"CAP_IPC_OWNER", CAP_IPC_OWNER},
    CapabilityName{"CAP_SYS_MODULE", CAP_SYS_MODULE},
    CapabilityName{"CAP_SYS_RAWIO", CAP_SYS_RAWIO},
    CapabilityName{"CAP_SYS_CHROOT", CAP_SYS_CHROOT},
    CapabilityName{"CAP_SYS_PTRACE", CAP_SYS_PTRACE},
    CapabilityName{"CAP_SYS_PACCT", CAP_SYS_PACCT},
    CapabilityName{"CAP_SYS_ADMIN", CAP_SYS_ADMIN},
    CapabilityName{"CAP_SYS_BOOT", CAP_SYS_BOOT},
    CapabilityName{"CAP_SYS_NICE", CAP_SYS_NICE},
    CapabilityName{"CAP_SYS_RESOURCE", CAP_SYS_RESOURCE},
    CapabilityName{"CAP_SYS_TIME", CAP_SYS_TIME},
    CapabilityName{"CAP_SYS_TTY_CONFIG", CAP_SYS_TTY_CONFIG},
    CapabilityName{"CAP_MKNOD", CAP_MKNOD},
    CapabilityName{"CAP_LEASE", CAP_LEASE},
    CapabilityName{"CAP_AUDIT_WRITE", CAP_AUDIT_WRITE},
    CapabilityName{"CAP_AUDIT_CONTROL", CAP_AUDIT_CONTROL},
    CapabilityName{"CAP_SETFCAP", CAP_SETFCAP},
    CapabilityName{"CAP_MAC_OVERRIDE", CAP_MAC_OVERRIDE},
    CapabilityName{"CAP_MAC_ADMIN", CAP_MAC_ADMIN},
    CapabilityName{"CAP_SYSLOG", CAP_SYSLOG},
    CapabilityName{"CAP_WAKE_ALARM", CAP_WAKE_ALARM},
    CapabilityName{"CAP_BLOCK_SUSPEND", CAP_BLOCK_SUSPEND},
    CapabilityName{"CAP_AUDIT_READ", CAP_AUDIT_READ},
    CapabilityName{"CAP_PERFMON", CAP_PERFMON},
    CapabilityName{"CAP_BPF", CAP_BPF},
    CapabilityName{"CAP_CHECKPOINT_RESTORE", CAP_CHECKPOINT_RESTORE},
};
static_assert(kCapabilityNames.size() == CAP_LAST_CAP + 1, "a capability is missing a name");

// The largest capability number a 64-bit mask (and capset's two 32-bit words) can hold.
constexpr unsigned kMaxCapability = 63;

// Resolves one set. Capabilities above `last_cap` are left out and collected in `unsupported`.
Result<uint64_t> ResolveSet(const std::vector<std::string>& names, std::string_view field,
                            std::string_view set_name, unsigned last_cap,
                            std::vector<std::string>* unsupported) {
  uint64_t mask = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const CapabilityName* found = nullptr;
    for (const auto& entry : kCapabilityNames) {
      if (entry.name == names[i]) {
        found = &entry;
        break;
      }
    }
    if (!found) {
      return Fail(std::string(field) + "." + std::string(set_name) + "[" + std::to_string(i) +
                  "]: unknown capability " + Quote(names[i]));
    }
    if (found->bit > last_cap) {
      bool seen = false;
      for (const auto& name : *unsupported) seen = seen || name == found->name;
      if (!seen) unsupported->emplace_back(found->name);
      continue;
    }
    mask |= uint64_t{1} << found->bit;
  }
  return mask;
}

Result<unsigned> ReadLastCap() {
  constexpr const char* kPath = "/proc/sys/kernel/cap_last_cap";
  auto text = TRY_CTX(linux::ReadFile(kPath), "read the kernel's last capability");
  auto value = ParseUint(Trim(text));
  if (!value || *value > kMaxCapability) {
    return Fail(std::string("read the kernel's last capability: unexpected content of ") +
                Quote(kPath) + ": " + Quote(Trim(text)));
  }
  return static_cast<unsigned>(*value);
}

// capget/capset through syscall(2): glibc has no wrapper (libcap's allocates).
int CapGet(__user_cap_data_struct (&data)[_LINUX_CAPABILITY_U32S_3]) noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return static_cast<int>(::syscall(SYS_capget, &header, data));
}
int CapSet(__user_cap_data_struct (&data)[_LINUX_CAPABILITY_U32S_3]) noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return static_cast<int>(::syscall(SYS_capset, &header, data));
}

}  // namespace

Result<CapabilityPlan> PlanCapabilities(const oci::Capabilities& caps, std::string_view field) {
  unsigned last_cap = TRY_CTX(ReadLastCap(), std::string(field));
  return PlanCapabilitiesForKernel(caps, field, last_cap);
}

Result<CapabilityPlan> PlanCapabilitiesForKernel(const oci::Capabilities& caps,
                                                 std::string_view field, unsigned last_cap) {
  if (last_cap > kMaxCapability) {
    return Fail(std::string(field) + ": the kernel's last capability " + std::to_string(last_cap) +
                " does not fit a 64-bit mask");
  }
  CapabilityPlan plan;
  plan.last_cap = last_cap;
  std::vector<std::string> unsupported;
  plan.bounding = TRY(ResolveSet(caps.bounding, field, "bounding", last_cap, &unsupported));
  plan.effective = TRY(ResolveSet(caps.effective, field, "effective", last_cap, &unsupported));
  plan.inheritable =
      TRY(ResolveSet(caps.inheritable, field, "inheritable", last_cap, &unsupported));
  plan.permitted = TRY(ResolveSet(caps.permitted, field, "permitted", last_cap, &unsupported));
  plan.ambient = TRY(ResolveSet(caps.ambient, field, "ambient", last_cap, &unsupported));
  if (!unsupported.empty()) {
    log::Warning(std::string(field) + ": the running kernel (last capability " +
                 std::to_string(last_cap) + ") does not know " + Join(unsupported, ", ") +
                 "; ignoring");
  }
  return plan;
}

int ApplyCapabilities(const CapabilityPlan& plan) noexcept {
  // 1. Make the permitted set effective, so that CAP_SETPCAP (needed to shrink the bounding set)
  //    is usable even when a setresuid() away from root has just cleared the effective set.
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (CapGet(data) < 0) return -errno;
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  if (CapSet(data) < 0) return -errno;

  // 2. Shrink the bounding set. Capabilities already absent need no CAP_SETPCAP.
  for (unsigned cap = 0; cap <= plan.last_cap && cap <= kMaxCapability; ++cap) {
    if (plan.bounding & (uint64_t{1} << cap)) continue;
    int present = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present < 0) return -errno;
    if (present == 0) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) return -errno;
  }

  // 3. The final sets. The kernel requires permitted to shrink only, effective within permitted,
  //    and inheritable within the (new) bounding set.
  data[0].effective = static_cast<uint32_t>(plan.effective);
  data[1].effective = static_cast<uint32_t>(plan.effective >> 32);
  data[0].permitted = static_cast<uint32_t>(plan.permitted);
  data[1].permitted = static_cast<uint32_t>(plan.permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(plan.inheritable);
  data[1].inheritable = static_cast<uint32_t>(plan.inheritable >> 32);
  if (CapSet(data) < 0) return -errno;

  // 4. Ambient: the kernel raises only capabilities both permitted and inheritable. Configs
  // commonly list ambient capabilities without inheritable ones (runc's defaults do); those
  // are skipped, as runc and crun let them pass, rather than failing the container.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    // Kernels before 4.3 have no ambient set; that only matters if the plan wants one.
    if (errno != EINVAL || plan.ambient != 0) return -errno;
  }
  for (unsigned cap = 0; cap <= plan.last_cap && cap <= kMaxCapability; ++cap) {
    uint64_t bit = uint64_t{1} << cap;
    if (!(plan.ambient & bit) || !(plan.inheritable & bit) || !(plan.permitted & bit)) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return -errno;
  }
  return 0;
}

}  // namespace hull::container
