// config.json "process" object (also the whole of an `exec --process` file).
#include "oci/json_read.h"

namespace hull::oci::json_internal {

Result<void> FromJson(const Json& value, const std::string& path, Rlimit& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "type", out.type));
  TRY(Read(value, path, "hard", out.hard));
  TRY(Read(value, path, "soft", out.soft));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, ConsoleSize& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "height", out.height));
  TRY(Read(value, path, "width", out.width));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, User& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "uid", out.uid));
  TRY(Read(value, path, "gid", out.gid));
  TRY(Read(value, path, "umask", out.umask));
  TRY(Read(value, path, "additionalGids", out.additional_gids));
  TRY(Read(value, path, "username", out.username));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Capabilities& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "bounding", out.bounding));
  TRY(Read(value, path, "effective", out.effective));
  TRY(Read(value, path, "inheritable", out.inheritable));
  TRY(Read(value, path, "permitted", out.permitted));
  TRY(Read(value, path, "ambient", out.ambient));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, IoPriority& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "class", out.io_class));
  TRY(Read(value, path, "priority", out.priority));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Scheduler& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "policy", out.policy));
  TRY(Read(value, path, "nice", out.nice));
  TRY(Read(value, path, "priority", out.priority));
  TRY(Read(value, path, "flags", out.flags));
  TRY(Read(value, path, "runtime", out.runtime));
  TRY(Read(value, path, "deadline", out.deadline));
  TRY(Read(value, path, "period", out.period));
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, Process& out) {
  TRY(ExpectObject(value, path));
  TRY(Read(value, path, "terminal", out.terminal));
  TRY(Read(value, path, "consoleSize", out.console_size));
  TRY(Read(value, path, "user", out.user));
  TRY(Read(value, path, "args", out.args));
  TRY(Read(value, path, "commandLine", out.command_line));
  TRY(Read(value, path, "env", out.env));
  TRY(Read(value, path, "cwd", out.cwd));
  TRY(Read(value, path, "capabilities", out.capabilities));
  TRY(Read(value, path, "rlimits", out.rlimits));
  TRY(Read(value, path, "noNewPrivileges", out.no_new_privileges));
  TRY(Read(value, path, "apparmorProfile", out.apparmor_profile));
  TRY(Read(value, path, "oomScoreAdj", out.oom_score_adj));
  TRY(Read(value, path, "selinuxLabel", out.selinux_label));
  TRY(Read(value, path, "ioPriority", out.io_priority));
  TRY(Read(value, path, "scheduler", out.scheduler));
  return {};
}

}  // namespace hull::oci::json_internal
