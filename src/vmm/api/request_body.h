// RequestBody: the JSON object of an API request, with typed field access whose errors name the
// field and the expected type ("smt: expected boolean, got string"), as the API's fault_message
// reports them. Unknown fields are rejected when the body is parsed; a field that is null counts
// as absent. Pure; the input is untrusted.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace hull::vmm::api {

class RequestBody {
 public:
  // Parses `text` (empty: {}) as a JSON object whose fields are all in `known`.
  [[nodiscard]] static Result<RequestBody> Parse(std::string_view text,
                                                 std::initializer_list<std::string_view> known);

  // Present and not null.
  bool Has(const char* key) const;

  // Required fields: an error when absent.
  [[nodiscard]] Result<std::string> String(const char* key) const;
  [[nodiscard]] Result<uint64_t> Unsigned(const char* key) const;
  // Optional fields: nullopt when absent or null.
  [[nodiscard]] Result<std::optional<std::string>> OptionalString(const char* key) const;
  [[nodiscard]] Result<std::optional<uint64_t>> OptionalUnsigned(const char* key) const;
  [[nodiscard]] Result<std::optional<bool>> OptionalBool(const char* key) const;

  // A Firecracker rate limiter ({"bandwidth": BUCKET, "ops": BUCKET}). hull-vmm implements none,
  // so only one that limits nothing (absent, null, {} or null buckets) is accepted; anything else
  // is an error saying so.
  [[nodiscard]] Result<void> CheckNoRateLimiter(const char* key) const;

 private:
  explicit RequestBody(nlohmann::json json) : json_(std::move(json)) {}
  nlohmann::json json_;
};

}  // namespace hull::vmm::api
