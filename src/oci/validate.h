// Semantic validation of a parsed Spec against the runtime spec and this host, before anything
// is created. Each error names the field: `linux.namespaces[2].type: unknown namespace type "foo"`.
#pragma once

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace hull::oci {

// Checks ociVersion (1.0.x / 1.1.x / 1.2.x accepted), required fields (root.path,
// process.args when a process is present, absolute cwd and mount destinations), namespace
// types and duplicates, a mount namespace (required: the chroot in the host's mount namespace
// that runc and crun fall back to is not offered), id mappings (non-empty and non-overlapping,
// required with a new user namespace), rlimit and capability names, seccomp
// actions/operators/architectures, hook paths (absolute) and timeouts (> 0), device types,
// sysctl names, and time offsets (only with a time namespace). Pure: no syscalls.
[[nodiscard]] Result<void> ValidateSpec(const Spec& spec);
// Checks a process for `exec` (args present, cwd absolute, names valid).
[[nodiscard]] Result<void> ValidateProcess(const Process& process, std::string_view field);

// Container ids: runc's rule, `^[\w+-\.]+$`, not "." or "..", at most 1024 characters.
[[nodiscard]] Result<void> ValidateContainerId(std::string_view id);

}  // namespace hull::oci
