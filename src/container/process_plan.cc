// Runtime side: turns a spec process into a ProcessPlan the child can apply without allocating.
#include <unistd.h>

#include "base/log.h"
#include "base/strings.h"
#include "container/init.h"
#include "linux/file.h"

namespace hull::container {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool LsmEnabled(const char* name) {
  if (std::string_view(name) == "apparmor") {
    auto enabled = linux::ReadFile("/sys/module/apparmor/parameters/enabled");
    return enabled && Trim(*enabled) == "Y";
  }
  return linux::Exists("/sys/fs/selinux/enforce");
}

}  // namespace

Result<ProcessPlan> PlanProcess(const oci::Process& process,
                                const std::optional<oci::Seccomp>& seccomp,
                                const std::string& seccomp_cache_dir,
                                std::string_view field_prefix) {
  std::string field(field_prefix);
  ProcessPlan plan;
  if (process.args.empty()) return Fail(EINVAL, field + ".args: must not be empty");
  plan.args = process.args;
  plan.env = process.env;
  for (auto& a : plan.args) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (auto& e : plan.env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);

  const std::string& program = plan.args[0];
  if (program.find('/') != std::string::npos) {
    plan.exec_candidates.push_back(program);
  } else {
    std::string path = kDefaultPath;
    for (const auto& e : process.env)
      if (StartsWith(e, "PATH=")) path = e.substr(5);
    for (const auto& dir : Split(path, ':'))
      plan.exec_candidates.push_back((dir.empty() ? "." : dir) + "/" + program);
  }

  plan.cwd = process.cwd.empty() ? "/" : process.cwd;
  plan.uid = process.user.uid;
  plan.gid = process.user.gid;
  plan.additional_gids.assign(process.user.additional_gids.begin(),
                              process.user.additional_gids.end());
  if (process.user.umask) plan.umask = static_cast<mode_t>(*process.user.umask);
  plan.rlimits = TRY_CTX(PlanRlimits(process.rlimits), field + ".rlimits");
  // No capabilities listed means none, as in runc and crun: never the runtime's full set.
  plan.capabilities = TRY(PlanCapabilities(process.capabilities.value_or(oci::Capabilities{}),
                                           field + ".capabilities"));
  plan.no_new_privileges = process.no_new_privileges;
  if (seccomp)
    plan.seccomp = TRY(seccomp_cache_dir.empty() ? CompileSeccomp(*seccomp)
                                                 : CompileSeccompCached(*seccomp, seccomp_cache_dir));

  if (!process.apparmor_profile.empty()) {
    if (LsmEnabled("apparmor"))
      plan.apparmor_profile = "exec " + process.apparmor_profile;
    else
      log::Warning(field + ".apparmorProfile: AppArmor is not enabled on this host; profile " +
                   Quote(process.apparmor_profile) + " is not applied");
  }
  if (!process.selinux_label.empty()) {
    if (LsmEnabled("selinux"))
      plan.selinux_label = process.selinux_label;
    else
      log::Warning(field + ".selinuxLabel: SELinux is not enabled on this host; label " +
                   Quote(process.selinux_label) + " is not applied");
  }
  plan.terminal = process.terminal;
  if (process.console_size) {
    plan.console_height = process.console_size->height;
    plan.console_width = process.console_size->width;
  }
  return plan;
}

}  // namespace hull::container
