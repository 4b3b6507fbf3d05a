// Semantic checks of a parsed Spec. Pure: the tables below stand in for what the host would
// report, so a config is judged the same way on every machine.
#include "oci/validate.h"

#include <cctype>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "oci/capability_names.h"

namespace hull::oci {
namespace {

using Names = std::span<const std::string_view>;

constexpr std::string_view kRlimits[] = {
    "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
    "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};

constexpr std::string_view kNamespaceTypes[] = {"pid", "network", "mount",  "ipc",
                                                "uts", "user",    "cgroup", "time"};

constexpr std::string_view kSeccompActions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};

constexpr std::string_view kSeccompOperators[] = {"SCMP_CMP_NE",       "SCMP_CMP_LT", "SCMP_CMP_LE",
                                                  "SCMP_CMP_EQ",       "SCMP_CMP_GE", "SCMP_CMP_GT",
                                                  "SCMP_CMP_MASKED_EQ"};

constexpr std::string_view kSeccompArchitectures[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB"};

constexpr std::string_view kSeccompFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",       "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",  "SECCOMP_FILTER_FLAG_NEW_LISTENER",
    "SECCOMP_FILTER_FLAG_TSYNC_ESRCH", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

constexpr std::string_view kRootfsPropagation[] = {
    "", "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"};

constexpr std::string_view kIoPriorityClasses[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                                   "IOPRIO_CLASS_IDLE"};

constexpr std::string_view kSchedulerPolicies[] = {"SCHED_OTHER",   "SCHED_FIFO", "SCHED_RR",
                                                   "SCHED_BATCH",   "SCHED_ISO",  "SCHED_IDLE",
                                                   "SCHED_DEADLINE"};

constexpr std::string_view kSchedulerFlags[] = {
    "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",     "SCHED_FLAG_DL_OVERRUN",
    "SCHED_FLAG_KEEP_POLICY",   "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
    "SCHED_FLAG_UTIL_CLAMP_MAX"};

constexpr std::string_view kTimeOffsetClocks[] = {"monotonic", "boottime"};

// The kernel accepts at most this many lines in /proc/PID/{uid,gid}_map.
constexpr size_t kMaxIdMappings = 340;

bool OneOf(std::string_view value, Names names) {
  for (std::string_view name : names) {
    if (value == name) return true;
  }
  return false;
}
bool OneOf(std::string_view value, std::initializer_list<std::string_view> names) {
  return OneOf(value, Names(names.begin(), names.size()));
}

std::string Index(const std::string& field, size_t i) {
  return field + "[" + std::to_string(i) + "]";
}

tl::unexpected<Error> FailField(const std::string& field, const std::string& message) {
  return Fail(field + ": " + message);
}

bool IsAbsolute(std::string_view path) { return !path.empty() && path.front() == '/'; }

Result<void> CheckAbsolute(std::string_view path, const std::string& field) {
  if (!IsAbsolute(path)) return FailField(field, "must be an absolute path");
  return {};
}

Result<void> CheckVersion(const std::string& version) {
  if (version.empty()) return Fail("ociVersion: required");
  auto supported = [&] {
    for (std::string_view prefix : {"1.0.", "1.1.", "1.2."}) {
      if (version.compare(0, prefix.size(), prefix) != 0) continue;
      std::string_view patch = std::string_view(version).substr(prefix.size());
      size_t digits = 0;
      while (digits < patch.size() && std::isdigit(static_cast<unsigned char>(patch[digits])))
        ++digits;
      if (digits == 0) return false;
      // A pre-release or build suffix ("1.0.2-dev", "1.1.0-rc.1") is fine.
      return digits == patch.size() || patch[digits] == '-' || patch[digits] == '+';
    }
    return false;
  };
  if (!supported()) {
    return Fail("ociVersion: unsupported version " + Quote(version) +
                " (supported: 1.0.x, 1.1.x, 1.2.x)");
  }
  return {};
}

Result<void> CheckIdMappings(const std::vector<IdMapping>& mappings, const std::string& field) {
  if (mappings.size() > kMaxIdMappings) {
    return FailField(field, "at most " + std::to_string(kMaxIdMappings) +
                                " mappings are allowed, got " + std::to_string(mappings.size()));
  }
  constexpr uint64_t kIdSpace = uint64_t{1} << 32;
  for (size_t i = 0; i < mappings.size(); ++i) {
    const IdMapping& m = mappings[i];
    if (m.size == 0) return FailField(Index(field, i) + ".size", "must be greater than 0");
    if (uint64_t{m.container_id} + m.size > kIdSpace || uint64_t{m.host_id} + m.size > kIdSpace)
      return FailField(Index(field, i), "range extends beyond id 4294967295");
    for (size_t j = 0; j < i; ++j) {
      const IdMapping& other = mappings[j];
      auto overlaps = [](uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
        return a < b + b_size && b < a + a_size;
      };
      // The kernel rejects overlaps on either side of the mapping.
      if (overlaps(m.container_id, m.size, other.container_id, other.size) ||
          overlaps(m.host_id, m.size, other.host_id, other.size)) {
        return FailField(Index(field, i), "overlaps " + Index(field, j));
      }
    }
  }
  return {};
}

Result<void> CheckNames(const std::vector<std::string>& values, Names allowed,
                        const std::string& field, std::string_view what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!OneOf(values[i], allowed))
      return FailField(Index(field, i), "unknown " + std::string(what) + " " + Quote(values[i]));
  }
  return {};
}

Result<void> CheckCapabilities(const Capabilities& caps, const std::string& field) {
  const std::pair<const char*, const std::vector<std::string>*> sets[] = {
      {"bounding", &caps.bounding},
      {"effective", &caps.effective},
      {"inheritable", &caps.inheritable},
      {"permitted", &caps.permitted},
      {"ambient", &caps.ambient}};
  for (const auto& [name, set] : sets) {
    TRY(CheckNames(*set, kCapabilityNames, field + "." + name, "capability"));
  }
  return {};
}

Result<void> CheckRlimits(const std::vector<Rlimit>& rlimits, const std::string& field) {
  std::map<std::string_view, size_t> seen;
  for (size_t i = 0; i < rlimits.size(); ++i) {
    const Rlimit& r = rlimits[i];
    std::string item = Index(field, i);
    if (!OneOf(r.type, kRlimits))
      return FailField(item + ".type", "unknown rlimit " + Quote(r.type));
    auto [it, inserted] = seen.emplace(r.type, i);
    if (!inserted) {
      return FailField(item + ".type", "duplicate rlimit " + Quote(r.type) + " (also " +
                                           Index(field, it->second) + ")");
    }
    if (r.soft > r.hard) {
      return FailField(item, "soft limit " + std::to_string(r.soft) + " exceeds hard limit " +
                                 std::to_string(r.hard));
    }
  }
  return {};
}

Result<void> CheckHooks(const std::vector<Hook>& hooks, const std::string& field) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    const Hook& hook = hooks[i];
    TRY(CheckAbsolute(hook.path, Index(field, i) + ".path"));
    if (hook.timeout && *hook.timeout <= 0)
      return FailField(Index(field, i) + ".timeout", "must be greater than 0");
  }
  return {};
}

Result<void> CheckMounts(const std::vector<Mount>& mounts) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    const Mount& mount = mounts[i];
    std::string item = Index("mounts", i);
    TRY(CheckAbsolute(mount.destination, item + ".destination"));
    // An idmapped mount needs both maps (mount_setattr takes one user namespace for both).
    if (mount.uid_mappings.empty() != mount.gid_mappings.empty()) {
      return FailField(item, "uidMappings and gidMappings must be given together");
    }
    TRY(CheckIdMappings(mount.uid_mappings, item + ".uidMappings"));
    TRY(CheckIdMappings(mount.gid_mappings, item + ".gidMappings"));
  }
  return {};
}

Result<void> CheckSeccomp(const Seccomp& seccomp) {
  const std::string field = "linux.seccomp";
  if (!OneOf(seccomp.default_action, kSeccompActions)) {
    return FailField(field + ".defaultAction", "unknown action " + Quote(seccomp.default_action));
  }
  // A notifying default would also trap the syscalls that hand the listener fd over.
  if (seccomp.default_action == "SCMP_ACT_NOTIFY")
    return FailField(field + ".defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
  TRY(CheckNames(seccomp.architectures, kSeccompArchitectures, field + ".architectures",
                 "architecture"));
  TRY(CheckNames(seccomp.flags, kSeccompFlags, field + ".flags", "flag"));
  for (size_t i = 0; i < seccomp.syscalls.size(); ++i) {
    const SeccompSyscall& rule = seccomp.syscalls[i];
    std::string item = Index(field + ".syscalls", i);
    if (rule.names.empty()) return FailField(item + ".names", "must not be empty");
    for (size_t n = 0; n < rule.names.size(); ++n) {
      if (rule.names[n].empty()) return FailField(Index(item + ".names", n), "must not be empty");
    }
    if (!OneOf(rule.action, kSeccompActions))
      return FailField(item + ".action", "unknown action " + Quote(rule.action));
    for (size_t a = 0; a < rule.args.size(); ++a) {
      const SeccompArg& arg = rule.args[a];
      std::string arg_field = Index(item + ".args", a);
      // Syscalls take at most six arguments.
      if (arg.index > 5) return FailField(arg_field + ".index", "must be between 0 and 5");
      if (!OneOf(arg.op, kSeccompOperators))
        return FailField(arg_field + ".op", "unknown operator " + Quote(arg.op));
    }
  }
  return {};
}

// A sysctl name becomes a path under /proc/sys: it must not be empty nor climb out of it.
// Names use '.' as separator, or '/' when they contain one (interface names may have dots).
bool IsValidSysctlName(std::string_view name) {
  if (name.empty()) return false;
  char separator = name.find('/') != std::string_view::npos ? '/' : '.';
  size_t start = 0;
  while (true) {
    size_t end = name.find(separator, start);
    std::string_view part =
        name.substr(start, end == std::string_view::npos ? name.npos : end - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

Result<void> CheckResources(const Resources& resources, const std::string& field) {
  for (size_t i = 0; i < resources.devices.size(); ++i) {
    const DeviceCgroupRule& rule = resources.devices[i];
    std::string item = Index(field + ".devices", i);
    if (!OneOf(rule.type, {"", "a", "c", "b"}))
      return FailField(item + ".type",
                       "unknown device type " + Quote(rule.type) + " (expected a, c or b)");
    for (char c : rule.access) {
      if (c != 'r' && c != 'w' && c != 'm')
        return FailField(item + ".access", "unknown access " + Quote(rule.access) +
                                               " (expected letters from \"rwm\")");
    }
  }
  if (resources.memory && resources.memory->swappiness && *resources.memory->swappiness > 100)
    return FailField(field + ".memory.swappiness", "must be at most 100");
  return {};
}

// Without a mount namespace the process would run in the host's root filesystem: root.path,
// mounts, maskedPaths and readonlyPaths could only be applied to the host's mount table. runc
// refuses such a config when it has maskedPaths or readonlyPaths ("unable to restrict sys
// entries without a private MNT namespace"), as every default config does, and otherwise
// chroots and leaves the config's mounts behind on the host; crun chroots. hull refuses all.
constexpr char kNoMountNamespace[] =
    "linux.namespaces: a \"mount\" namespace is required (new, or joined by path): without one "
    "the process would run in the host's root filesystem, and root.path, mounts, maskedPaths "
    "and readonlyPaths could not be applied";

Result<void> CheckLinux(const Spec& spec) {
  const Linux& linux_config = *spec.linux;
  std::map<std::string_view, size_t> seen;
  for (size_t i = 0; i < linux_config.namespaces.size(); ++i) {
    const Namespace& ns = linux_config.namespaces[i];
    std::string item = Index("linux.namespaces", i);
    if (!OneOf(ns.type, kNamespaceTypes))
      return FailField(item + ".type", "unknown namespace type " + Quote(ns.type));
    auto [it, inserted] = seen.emplace(ns.type, i);
    if (!inserted) {
      return FailField(item + ".type", "duplicate namespace type " + Quote(ns.type) + " (also " +
                                           Index("linux.namespaces", it->second) + ")");
    }
    if (!ns.path.empty()) TRY(CheckAbsolute(ns.path, item + ".path"));
  }
  auto find_namespace = [&](std::string_view type) -> const Namespace* {
    for (const Namespace& ns : linux_config.namespaces) {
      if (ns.type == type) return &ns;
    }
    return nullptr;
  };
  if (find_namespace("mount") == nullptr) return Fail(kNoMountNamespace);

  const Namespace* user_ns = find_namespace("user");
  if (user_ns == nullptr) {
    if (!linux_config.uid_mappings.empty())
      return Fail("linux.uidMappings: requires a user namespace");
    if (!linux_config.gid_mappings.empty())
      return Fail("linux.gidMappings: requires a user namespace");
  } else if (user_ns->path.empty()) {
    if (linux_config.uid_mappings.empty())
      return Fail("linux.uidMappings: required when a new user namespace is created");
    if (linux_config.gid_mappings.empty())
      return Fail("linux.gidMappings: required when a new user namespace is created");
  }
  TRY(CheckIdMappings(linux_config.uid_mappings, "linux.uidMappings"));
  TRY(CheckIdMappings(linux_config.gid_mappings, "linux.gidMappings"));

  if (!linux_config.time_offsets.empty()) {
    const Namespace* time_ns = find_namespace("time");
    if (time_ns == nullptr) return Fail("linux.timeOffsets: requires a time namespace");
    if (!time_ns->path.empty())
      return Fail("linux.timeOffsets: cannot be set when joining an existing time namespace");
    for (const auto& [clock, offset] : linux_config.time_offsets) {
      std::string item = "linux.timeOffsets." + clock;
      if (!OneOf(clock, kTimeOffsetClocks))
        return Fail("linux.timeOffsets: unknown clock " + Quote(clock) +
                    " (expected monotonic or boottime)");
      if (offset.nanosecs >= 1'000'000'000)
        return FailField(item + ".nanosecs", "must be less than 1000000000");
    }
  }

  if (!spec.hostname.empty() && find_namespace("uts") == nullptr)
    return Fail("hostname: requires a uts namespace");
  if (!spec.domainname.empty() && find_namespace("uts") == nullptr)
    return Fail("domainname: requires a uts namespace");

  for (size_t i = 0; i < linux_config.devices.size(); ++i) {
    const Device& device = linux_config.devices[i];
    std::string item = Index("linux.devices", i);
    if (!OneOf(device.type, {"c", "b", "u", "p"}))
      return FailField(item + ".type",
                       "unknown device type " + Quote(device.type) + " (expected c, b, u or p)");
    TRY(CheckAbsolute(device.path, item + ".path"));
  }

  if (linux_config.resources) TRY(CheckResources(*linux_config.resources, "linux.resources"));

  if (!OneOf(linux_config.rootfs_propagation, kRootfsPropagation)) {
    return Fail("linux.rootfsPropagation: unknown propagation " +
                Quote(linux_config.rootfs_propagation));
  }
  if (linux_config.seccomp) TRY(CheckSeccomp(*linux_config.seccomp));

  for (const auto& [name, value] : linux_config.sysctl) {
    if (name.empty()) return Fail("linux.sysctl: empty key");
    if (!IsValidSysctlName(name)) return Fail("linux.sysctl: invalid name " + Quote(name));
  }
  for (size_t i = 0; i < linux_config.masked_paths.size(); ++i)
    TRY(CheckAbsolute(linux_config.masked_paths[i], Index("linux.maskedPaths", i)));
  for (size_t i = 0; i < linux_config.readonly_paths.size(); ++i)
    TRY(CheckAbsolute(linux_config.readonly_paths[i], Index("linux.readonlyPaths", i)));

  if (linux_config.personality && !OneOf(linux_config.personality->domain, {"LINUX", "LINUX32"})) {
    return Fail("linux.personality.domain: unknown domain " +
                Quote(linux_config.personality->domain) + " (expected LINUX or LINUX32)");
  }
  return {};
}

}  // namespace

Result<void> ValidateProcess(const Process& process, std::string_view field_view) {
  const std::string field(field_view);
  auto sub = [&](std::string_view member) {
    return field.empty() ? std::string(member) : field + "." + std::string(member);
  };
  if (process.args.empty()) return FailField(sub("args"), "must not be empty");
  TRY(CheckAbsolute(process.cwd, sub("cwd")));
  for (size_t i = 0; i < process.env.size(); ++i) {
    const std::string& entry = process.env[i];
    size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0)
      return FailField(Index(sub("env"), i), "expected NAME=value, got " + Quote(entry));
  }
  TRY(CheckRlimits(process.rlimits, sub("rlimits")));
  if (process.capabilities) TRY(CheckCapabilities(*process.capabilities, sub("capabilities")));
  if (process.oom_score_adj && (*process.oom_score_adj < -1000 || *process.oom_score_adj > 1000))
    return FailField(sub("oomScoreAdj"), "must be between -1000 and 1000");
  if (process.io_priority) {
    if (!OneOf(process.io_priority->io_class, kIoPriorityClasses))
      return FailField(sub("ioPriority.class"),
                       "unknown class " + Quote(process.io_priority->io_class));
    if (process.io_priority->priority < 0 || process.io_priority->priority > 7)
      return FailField(sub("ioPriority.priority"), "must be between 0 and 7");
  }
  if (process.scheduler) {
    const Scheduler& scheduler = *process.scheduler;
    if (!OneOf(scheduler.policy, kSchedulerPolicies))
      return FailField(sub("scheduler.policy"), "unknown policy " + Quote(scheduler.policy));
    if (scheduler.nice < -20 || scheduler.nice > 19)
      return FailField(sub("scheduler.nice"), "must be between -20 and 19");
    TRY(CheckNames(scheduler.flags, kSchedulerFlags, sub("scheduler.flags"), "flag"));
  }
  return {};
}

Result<void> ValidateSpec(const Spec& spec) {
  TRY(CheckVersion(spec.oci_version));
  if (spec.root.path.empty()) return Fail("root.path: must not be empty");
  if (spec.process) TRY(ValidateProcess(*spec.process, "process"));
  TRY(CheckMounts(spec.mounts));
  if (spec.hooks) {
    const Hooks& hooks = *spec.hooks;
    TRY(CheckHooks(hooks.prestart, "hooks.prestart"));
    TRY(CheckHooks(hooks.create_runtime, "hooks.createRuntime"));
    TRY(CheckHooks(hooks.create_container, "hooks.createContainer"));
    TRY(CheckHooks(hooks.start_container, "hooks.startContainer"));
    TRY(CheckHooks(hooks.poststart, "hooks.poststart"));
    TRY(CheckHooks(hooks.poststop, "hooks.poststop"));
  }
  // Without a linux object there are no namespaces, so no mount namespace either.
  if (!spec.linux) return Fail(kNoMountNamespace);
  return CheckLinux(spec);
}

}  // namespace hull::oci
