// Internal to src/oci: typed reading of nlohmann-json values into the runtime-spec types.
//
// Every reader takes the JSON path of the value it reads ("process.user.uid",
// "mounts[2].destination") so that each error names the field. Readers only call nlohmann
// accessors after checking the value's type, so no nlohmann exception is thrown from here;
// the public entry points still catch them as a last line of defence.
//
// Conventions, shared by all readers:
//   - A member that is absent or JSON null leaves the destination at its default.
//   - Unknown members are ignored (the runtime spec requires it).
//   - Integers must be JSON integers within the destination type's range; floating-point
//     numbers are rejected, as Go's encoding/json does for integer fields.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/error.h"
#include "oci/runtime_spec.h"

namespace hull::oci::json_internal {

using Json = nlohmann::json;

// "process" + "user" -> "process.user"; a key that is not a plain identifier is bracketed:
// "linux.sysctl" + "net.ipv4.ip_forward" -> `linux.sysctl["net.ipv4.ip_forward"]`.
std::string Member(std::string_view path, std::string_view key);
// "mounts" + 2 -> "mounts[2]".
std::string Element(std::string_view path, size_t index);

// An error "<path>: <message>" ("top level" when the path is empty).
tl::unexpected<Error> FailAt(std::string_view path, std::string_view message);
// An error "<path>: expected <what>, got <JSON type of value>".
tl::unexpected<Error> FailExpected(std::string_view path, std::string_view what, const Json& value);

// Parses a JSON document. Syntax errors read "invalid JSON at line L, column C: <reason>".
[[nodiscard]] Result<Json> ParseDocument(std::string_view text);

// Fails unless `value` is a JSON object.
[[nodiscard]] Result<void> ExpectObject(const Json& value, std::string_view path);

// Range-checked integer reads.
[[nodiscard]] Result<uint64_t> ReadUnsigned(const Json& value, std::string_view path, uint64_t max);
[[nodiscard]] Result<int64_t> ReadSigned(const Json& value, std::string_view path, int64_t min,
                                         int64_t max);

// Scalars.
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, std::string& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, bool& out);

template <typename T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
    [[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, T& out) {
  if constexpr (std::is_unsigned_v<T>) {
    out = static_cast<T>(TRY(ReadUnsigned(value, path, std::numeric_limits<T>::max())));
  } else {
    out = static_cast<T>(
        TRY(ReadSigned(value, path, std::numeric_limits<T>::min(), std::numeric_limits<T>::max())));
  }
  return {};
}

// The spec's objects. Defined in spec_json.cc, spec_json_process.cc and spec_json_linux.cc.
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Spec& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Root& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, IdMapping& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Mount& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Hook& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Hooks& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Process& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Rlimit& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, ConsoleSize& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, User& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Capabilities& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, IoPriority& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Scheduler& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Linux& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Namespace& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, TimeOffset& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Device& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Resources& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    DeviceCgroupRule& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    MemoryResources& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, CpuResources& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, PidsResources& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    BlockIoResources& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, WeightDevice& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    ThrottleDevice& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, HugepageLimit& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    NetworkResources& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    NetworkPriority& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Seccomp& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    SeccompSyscall& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, SeccompArg& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, Personality& out);
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path, IntelRdt& out);

// Containers. Elements of arrays and values of objects may not be null.
template <typename T>
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    std::optional<T>& out) {
  if (value.is_null()) {
    out.reset();
    return {};
  }
  T item{};
  TRY(FromJson(value, path, item));
  out = std::move(item);
  return {};
}

template <typename T>
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    std::vector<T>& out) {
  if (!value.is_array()) return FailExpected(path, "array", value);
  std::vector<T> items;
  items.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    T item{};
    TRY(FromJson(value[i], Element(path, i), item));
    items.push_back(std::move(item));
  }
  out = std::move(items);
  return {};
}

template <typename T>
[[nodiscard]] Result<void> FromJson(const Json& value, const std::string& path,
                                    std::map<std::string, T>& out) {
  if (!value.is_object()) return FailExpected(path, "object", value);
  std::map<std::string, T> items;
  for (const auto& [key, item_json] : value.items()) {
    T item{};
    TRY(FromJson(item_json, Member(path, key), item));
    items.emplace(key, std::move(item));
  }
  out = std::move(items);
  return {};
}

// Reads member `key` of `object` (already checked to be an object) into `out`. Absent or null
// leaves `out` unchanged.
template <typename T>
[[nodiscard]] Result<void> Read(const Json& object, std::string_view path, const char* key,
                                T& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  return FromJson(*it, Member(path, key), out);
}

// True if member `key` is present and not null.
bool Has(const Json& object, const char* key);

}  // namespace hull::oci::json_internal
