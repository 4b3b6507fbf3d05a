// Seccomp: the profile is compiled to classic BPF by libseccomp in the runtime, and the program is
// installed by the container's init with a raw seccomp(2) call.
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/log.h"
#include "container/security.h"
#include "linux/syscalls.h"
#include "linux/unique_fd.h"

namespace hull::container {
namespace {

constexpr std::string_view kField = "linux.seccomp";
constexpr std::string_view kNotifyUnsupported = "SCMP_ACT_NOTIFY is not supported yet";
// The kernel's limit on a classic BPF program (BPF_MAXINSNS).
constexpr size_t kMaxInstructions = 4096;

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

std::string Field(std::string_view suffix) { return std::string(kField) + std::string(suffix); }
std::string Indexed(std::string_view member, size_t index) {
  return Field(".") + std::string(member) + "[" + std::to_string(index) + "]";
}

// An error from libseccomp, which returns -errno.
tl::unexpected<Error> LibseccompFail(int rc, std::string message) {
  return Fail(rc < 0 ? -rc : EINVAL, std::move(message));
}

// `field` names the action member for messages; `errno_ret` applies to ERRNO and TRACE.
Result<uint32_t> ParseAction(const std::string& action, std::optional<unsigned> errno_ret,
                             const std::string& field) {
  // libseccomp keeps 16 bits of the errno value (SECCOMP_RET_DATA).
  const unsigned data = errno_ret.value_or(EPERM);
  if (errno_ret && *errno_ret > 0xffff) {
    return Fail(field + ": errnoRet " + std::to_string(*errno_ret) + " does not fit 16 bits");
  }
  if (action == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (action == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(data);
  if (action == "SCMP_ACT_KILL" || action == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (action == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (action == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (action == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(data);
  if (action == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (action == "SCMP_ACT_NOTIFY") return Fail(field + ": " + std::string(kNotifyUnsupported));
  return Fail(field + ": unknown action " + Quote(action));
}

Result<scmp_compare> ParseOperator(const std::string& op, const std::string& field) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return Fail(field + ": unknown operator " + Quote(op));
}

Result<uint32_t> ParseArchitecture(const std::string& arch, const std::string& field) {
  // The spec's names are libseccomp's with a prefix, upper-cased: SCMP_ARCH_X86_64 is "x86_64".
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  uint32_t token = 0;
  if (arch.size() > kPrefix.size() && arch.compare(0, kPrefix.size(), kPrefix) == 0) {
    std::string name = arch.substr(kPrefix.size());
    bool upper = true;
    for (char& c : name) {
      if (c >= 'a' && c <= 'z') upper = false;
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (upper) token = seccomp_arch_resolve_name(name.c_str());
  }
  if (token == 0) return Fail(field + ": unknown architecture " + Quote(arch));
  return token;
}

Result<unsigned> ParseFlag(const std::string& flag, const std::string& field) {
  if (flag == "SECCOMP_FILTER_FLAG_TSYNC") return SECCOMP_FILTER_FLAG_TSYNC;
  if (flag == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
  if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  return Fail(field + ": unknown flag " + Quote(flag));
}

// Adds the rules of syscalls[index] for one resolved syscall.
Result<void> AddRules(scmp_filter_ctx ctx, uint32_t action, int number, const std::string& name,
                      const std::vector<scmp_arg_cmp>& comparisons, bool same_index,
                      const std::string& field) {
  auto fail = [&](int rc) {
    return LibseccompFail(rc, field + ": add the rule for " + Quote(name));
  };
  if (!same_index) {
    int rc = seccomp_rule_add_array(ctx, action, number, static_cast<unsigned>(comparisons.size()),
                                    comparisons.empty() ? nullptr : comparisons.data());
    if (rc < 0) return fail(rc);
    return {};
  }
  // libseccomp cannot AND two comparisons of one argument in a rule; like runc, every
  // comparison becomes a rule of its own, so the action applies when any of them matches.
  for (const auto& comparison : comparisons) {
    int rc = seccomp_rule_add_array(ctx, action, number, 1, &comparison);
    if (rc < 0) return fail(rc);
  }
  return {};
}

Result<std::vector<sock_filter>> Export(scmp_filter_ctx ctx) {
  // libseccomp 2.5 exports to an fd only; a memfd holds any program size without a reader.
  linux::UniqueFd fd(::memfd_create("hull-seccomp", MFD_CLOEXEC));
  if (!fd) return FailErrno(Field(": create a memfd for the compiled filter"));
  if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0) {
    return LibseccompFail(rc, Field(": export the compiled filter"));
  }
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size < 0) return FailErrno(Field(": size the compiled filter"));
  if (size % static_cast<off_t>(sizeof(sock_filter)) != 0) {
    return Fail(Field(": the compiled filter is " + std::to_string(size) +
                      " bytes, not whole instructions"));
  }
  std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
  size_t done = 0;
  const size_t total = program.size() * sizeof(sock_filter);
  auto* bytes = reinterpret_cast<char*>(program.data());
  while (done < total) {
    ssize_t n = ::pread(fd.get(), bytes + done, total - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(Field(": read the compiled filter"));
    if (n == 0) return Fail(Field(": the compiled filter was truncated"));
    done += static_cast<size_t>(n);
  }
  return program;
}

}  // namespace

Result<SeccompPlan> CompileSeccomp(const oci::Seccomp& seccomp) {
  if (!seccomp.listener_path.empty()) {
    return Fail(Field(".listenerPath: ") + std::string(kNotifyUnsupported));
  }
  const uint32_t default_action =
      TRY(ParseAction(seccomp.default_action, seccomp.default_errno_ret, Field(".defaultAction")));

  SeccompPlan plan;
  for (size_t i = 0; i < seccomp.flags.size(); ++i) {
    plan.flags |= TRY(ParseFlag(seccomp.flags[i], Indexed("flags", i)));
  }

  Context ctx(seccomp_init(default_action));
  if (!ctx) return Fail(Field(": libseccomp could not create a filter"));
  // The runtime decides on no_new_privs (process.noNewPrivileges) and loads the program itself;
  // the attribute only matters for seccomp_load(), but keep libseccomp from assuming.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0) {
    return LibseccompFail(rc, Field(": clear the no_new_privs attribute"));
  }

  // The native architecture is always in the filter; listed ones are added beside it.
  for (size_t i = 0; i < seccomp.architectures.size(); ++i) {
    const std::string field = Indexed("architectures", i);
    uint32_t arch = TRY(ParseArchitecture(seccomp.architectures[i], field));
    int rc = seccomp_arch_add(ctx.get(), arch);
    if (rc < 0 && rc != -EEXIST) {
      return LibseccompFail(rc, field + ": add architecture " + Quote(seccomp.architectures[i]));
    }
  }

  std::vector<scmp_arg_cmp> comparisons;
  for (size_t i = 0; i < seccomp.syscalls.size(); ++i) {
    const oci::SeccompSyscall& rule = seccomp.syscalls[i];
    const std::string field = Indexed("syscalls", i);
    const uint32_t action = TRY(ParseAction(rule.action, rule.errno_ret, field + ".action"));

    comparisons.clear();
    bool same_index = false;
    uint32_t indices_seen = 0;
    for (size_t a = 0; a < rule.args.size(); ++a) {
      const oci::SeccompArg& arg = rule.args[a];
      const std::string arg_field = field + ".args[" + std::to_string(a) + "]";
      scmp_compare op = TRY(ParseOperator(arg.op, arg_field + ".op"));
      if (arg.index >= 6) {
        return Fail(arg_field + ".index: " + std::to_string(arg.index) +
                    " is out of range (a system call has 6 arguments)");
      }
      same_index = same_index || (indices_seen & (1u << arg.index));
      indices_seen |= 1u << arg.index;
      // For SCMP_CMP_MASKED_EQ, value is the mask and valueTwo the expected masked value.
      comparisons.push_back(scmp_arg_cmp{arg.index, op, arg.value, arg.value_two});
    }

    // libseccomp rejects a rule whose action is the default one; it would change nothing.
    if (action == default_action) continue;

    for (const std::string& name : rule.names) {
      int number = seccomp_syscall_resolve_name(name.c_str());
      if (number == __NR_SCMP_ERROR) {
        log::Debug(field + ": skipping system call " + Quote(name) + ", unknown to libseccomp");
        continue;
      }
      TRY(AddRules(ctx.get(), action, number, name, comparisons, same_index, field));
    }
  }

  plan.program = TRY(Export(ctx.get()));
  if (plan.program.empty() || plan.program.size() > kMaxInstructions) {
    return Fail(Field(": the compiled filter has " + std::to_string(plan.program.size()) +
                      " instructions; the kernel accepts 1 to " +
                      std::to_string(kMaxInstructions)));
  }
  return plan;
}

int LoadSeccomp(const SeccompPlan& plan) noexcept {
  if (plan.program.empty() || plan.program.size() > kMaxInstructions) return -EINVAL;
  sock_fprog program{};
  program.len = static_cast<unsigned short>(plan.program.size());
  program.filter = const_cast<sock_filter*>(plan.program.data());
  int rc = linux::sys::Seccomp(SECCOMP_SET_MODE_FILTER, plan.flags, &program);
  if (rc < 0) return -errno;
  // With SECCOMP_FILTER_FLAG_TSYNC a positive value is a thread that could not be synchronised.
  if (rc > 0) return -ESRCH;
  return 0;
}

}  // namespace hull::container
