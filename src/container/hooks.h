// OCI hooks: each runs as a separate process with the container state JSON on stdin, its own
// args and env, and an optional timeout after which it is killed.
//
// Hooks are prepared (strings and argv/envp arrays built) in the runtime, then run with
// RunPreparedHooks, which is async-signal-safe so the container's init can run startContainer
// hooks between clone() and execve() too.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "container/child_report.h"
#include "oci/runtime_spec.h"

namespace hull::container {

struct PreparedHook {
  std::string field;  // "hooks.poststart[1]" for messages
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  int timeout_seconds = 0;  // 0: none
  std::vector<char*> argv;  // into args, NULL-terminated
  std::vector<char*> envp;  // into env, NULL-terminated
};

// `phase` is the spec's name of the hook list ("createRuntime").
std::vector<PreparedHook> PrepareHooks(const std::vector<oci::Hook>& hooks,
                                       std::string_view phase);

// Runs hooks in order, stopping at the first failure (non-zero exit, signal, timeout, exec
// failure: reported with execve's errno, `hooks.prestart[0] "/x": No such file or directory`). Each
// hook process first setns()'s into `namespace_fds` (count may be 0), which remain owned by the
// caller. Async-signal-safe; returns 0 or -1 with `report` filled.
int RunPreparedHooks(const std::vector<PreparedHook>& hooks, std::string_view state_json,
                     const int* namespace_fds, size_t namespace_count,
                     ChildReport* report) noexcept;

// Runtime-side convenience: prepare and run in the runtime's namespaces.
[[nodiscard]] Result<void> RunHooks(const std::vector<oci::Hook>& hooks, std::string_view phase,
                                    std::string_view state_json);

}  // namespace hull::container
