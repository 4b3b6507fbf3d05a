#include "vmm/api/request_body.h"

namespace hull::vmm::api {
namespace {

using Json = nlohmann::json;

tl::unexpected<Error> WrongType(const char* key, const char* expected, const Json& value) {
  return Fail(std::string(key) + ": expected " + expected + ", got " + value.type_name());
}

}  // namespace

Result<RequestBody> RequestBody::Parse(std::string_view text,
                                       std::initializer_list<std::string_view> known) {
  Json json = Json::parse(text.empty() ? std::string_view("{}") : text, nullptr,
                          /*allow_exceptions=*/false);
  if (json.is_discarded()) return Fail("invalid JSON body");
  if (!json.is_object())
    return Fail(std::string("expected a JSON object, got ") + json.type_name());
  for (const auto& [key, value] : json.items()) {
    bool found = false;
    for (std::string_view k : known) found = found || k == key;
    if (!found) return Fail(key + ": unknown field");
  }
  return RequestBody(std::move(json));
}

bool RequestBody::Has(const char* key) const {
  return json_.contains(key) && !json_[key].is_null();
}

Result<std::string> RequestBody::String(const char* key) const {
  std::optional<std::string> value = TRY(OptionalString(key));
  if (!value) return Fail(std::string(key) + ": required");
  return std::move(*value);
}

Result<uint64_t> RequestBody::Unsigned(const char* key) const {
  std::optional<uint64_t> value = TRY(OptionalUnsigned(key));
  if (!value) return Fail(std::string(key) + ": required");
  return *value;
}

Result<std::optional<std::string>> RequestBody::OptionalString(const char* key) const {
  if (!Has(key)) return std::nullopt;
  const Json& value = json_[key];
  if (!value.is_string()) return WrongType(key, "string", value);
  return value.get<std::string>();
}

Result<std::optional<uint64_t>> RequestBody::OptionalUnsigned(const char* key) const {
  if (!Has(key)) return std::nullopt;
  const Json& value = json_[key];
  if (value.is_number_integer() && !value.is_number_unsigned())
    return Fail(std::string(key) + ": must not be negative");
  if (!value.is_number_unsigned()) return WrongType(key, "unsigned integer", value);
  return value.get<uint64_t>();
}

Result<std::optional<bool>> RequestBody::OptionalBool(const char* key) const {
  if (!Has(key)) return std::nullopt;
  const Json& value = json_[key];
  if (!value.is_boolean()) return WrongType(key, "boolean", value);
  return value.get<bool>();
}

Result<void> RequestBody::CheckNoRateLimiter(const char* key) const {
  if (!Has(key)) return {};
  const Json& limiter = json_[key];
  if (!limiter.is_object()) return WrongType(key, "object", limiter);
  for (const auto& [bucket, value] : limiter.items()) {
    if (bucket != "bandwidth" && bucket != "ops")
      return Fail(std::string(key) + "." + bucket + ": unknown field");
    if (!value.is_null()) {
      return Fail(std::string(key) +
                  ": rate limiting is not supported by hull-vmm (leave it out, or null)");
    }
  }
  return {};
}

}  // namespace hull::vmm::api
