// RequestBody: the JSON object of an API request, with typed field access whose errors name the
// field and the expected type ("smt: expected boolean, got string"), as the API's fault_message
// reports them. Unknown fields are rejected when the body is parsed; a field that is null counts
// as absent. Pure; the input is untrusted.
#pragma once

#include <initializer_list>
#include <string_view>

#include "base/error.h"
#include "vmm/json_fields.h"

namespace hull::vmm::api {

class RequestBody : public JsonFields {
 public:
  // Parses `text` (empty: {}) as a JSON object whose fields are all in `known`.
  [[nodiscard]] static Result<RequestBody> Parse(std::string_view text,
                                                 std::initializer_list<std::string_view> known);

  // A Firecracker rate limiter ({"bandwidth": BUCKET, "ops": BUCKET}). hull-vmm implements none,
  // so only one that limits nothing (absent, null, {} or null buckets) is accepted; anything else
  // is an error saying so.
  [[nodiscard]] Result<void> CheckNoRateLimiter(const char* key) const;

 private:
  explicit RequestBody(JsonFields fields) : JsonFields(std::move(fields)) {}
};

}  // namespace hull::vmm::api
