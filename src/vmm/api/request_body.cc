#include "vmm/api/request_body.h"

#include <nlohmann/json.hpp>

namespace hull::vmm::api {

Result<RequestBody> RequestBody::Parse(std::string_view text,
                                       std::initializer_list<std::string_view> known) {
  nlohmann::json json = nlohmann::json::parse(text.empty() ? std::string_view("{}") : text, nullptr,
                                              /*allow_exceptions=*/false);
  if (json.is_discarded()) return Fail("invalid JSON body");
  return RequestBody(TRY(JsonFields::Of(std::move(json), "", known, Null::kIsAbsent)));
}

Result<void> RequestBody::CheckNoRateLimiter(const char* key) const {
  std::optional<JsonFields> limiter = TRY(OptionalObject(key, {"bandwidth", "ops"}));
  if (limiter && (limiter->Has("bandwidth") || limiter->Has("ops"))) {
    return Fail(Name(key) + ": rate limiting is not supported by hull-vmm (leave it out, or null)");
  }
  return {};
}

}  // namespace hull::vmm::api
