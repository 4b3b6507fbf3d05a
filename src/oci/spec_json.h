// JSON (de)serialisation of the runtime-spec types. The only place nlohmann-json's exceptions
// may surface; every error names the JSON path of the offending field:
//   config.json: process.user.uid: expected unsigned integer, got string
// Unknown fields are ignored, as the runtime spec requires.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace hull::oci {

// Parses a whole config.json document.
[[nodiscard]] Result<Spec> ParseSpec(std::string_view json);
// Reads and parses BUNDLE/config.json.
[[nodiscard]] Result<Spec> LoadSpec(const std::string& bundle_dir);
// A process.json for `exec --process` (the "process" object of the spec).
[[nodiscard]] Result<Process> ParseProcess(std::string_view json);
// A resources document for `update --resources` (the "linux.resources" object).
[[nodiscard]] Result<Resources> ParseResources(std::string_view json);

// The state JSON of `state` and of hooks' stdin, as runc prints it.
std::string SerializeState(const State& state, bool pretty);

// The default config.json that `spec` writes (runc's defaults; `rootless` adds a user namespace
// mapping the caller's uid and gid and drops what an unprivileged user cannot do).
std::string DefaultSpecJson(bool rootless, uint32_t uid, uint32_t gid);

}  // namespace hull::oci
