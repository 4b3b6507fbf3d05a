// The runtime spec's state object.
#include <nlohmann/json.hpp>

#include "oci/spec_json.h"

namespace hull::oci {

std::string SerializeStateWith(const State& state,
                               const std::vector<std::pair<std::string, std::string>>& extra,
                               bool pretty) {
  // ordered_json keeps the members in the order the spec lists them, which is what people
  // reading `state` output expect.
  nlohmann::ordered_json out;
  out["ociVersion"] = state.oci_version;
  out["id"] = state.id;
  out["status"] = state.status;
  out["pid"] = state.pid;
  out["bundle"] = state.bundle;
  for (const auto& [key, value] : extra) out[key] = value;
  if (!state.annotations.empty()) {
    nlohmann::ordered_json annotations = nlohmann::ordered_json::object();
    for (const auto& [key, value] : state.annotations) annotations[key] = value;
    out["annotations"] = std::move(annotations);
  }
  // Paths and annotations come from users and need not be UTF-8: replace invalid bytes
  // rather than let dump() throw.
  return out.dump(pretty ? 2 : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string SerializeState(const State& state, bool pretty) {
  return SerializeStateWith(state, {}, pretty);
}

}  // namespace hull::oci
