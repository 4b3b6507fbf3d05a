// JSON (de)serialisation of the runtime-spec types. The only place nlohmann-json's exceptions
// may surface; every error names the JSON path of the offending field:
//   config.json: process.user.uid: expected unsigned integer, got string
// Unknown fields are ignored, as the runtime spec requires.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace hull::oci {

// Parses a whole config.json document.
[[nodiscard]] Result<Spec> ParseSpec(std::string_view json);
// Reads and parses BUNDLE/config.json. Errors start with the quoted file path; a file that
// cannot be read reports `open "<path>": <errno text>`.
[[nodiscard]] Result<Spec> LoadSpec(const std::string& bundle_dir);
// A process.json for `exec --process` (the "process" object of the spec). Error paths are
// relative to that document: `user.uid: ...`.
[[nodiscard]] Result<Process> ParseProcess(std::string_view json);
// A resources document for `update --resources` (the "linux.resources" object). Error paths
// are relative to that document: `memory.limit: ...`.
[[nodiscard]] Result<Resources> ParseResources(std::string_view json);

// The runtime spec's state object, for hooks' stdin and `state`: ociVersion, id, status, pid
// (always present), bundle, and annotations (only when non-empty). `pretty` indents with two
// spaces as runc's `state` does; otherwise the output is one line. No trailing newline.
std::string SerializeState(const State& state, bool pretty);
// As SerializeState, with extra string members inserted after "bundle" in the given order
// (runc's `state` adds "rootfs", "created" and "owner").
std::string SerializeStateWith(const State& state,
                               const std::vector<std::pair<std::string, std::string>>& extra,
                               bool pretty);

// The default config.json that `spec` writes (runc's defaults; `rootless` adds a user namespace
// mapping the caller's uid and gid and drops what an unprivileged user cannot do). Indented
// with two spaces and ending with a newline.
std::string DefaultSpecJson(bool rootless, uint32_t uid, uint32_t gid);

}  // namespace hull::oci
