// JsonFields: typed access to the fields of one JSON object, for the config file (config.cc)
// and the API's request bodies (api/request_body.h). Unknown fields are rejected when the
// object is taken; errors name the field by its path and say what was expected
// ("machine.cpus: expected unsigned integer, got string", "drives[0].path: required",
// "smt: expected boolean, got number"). Pure; the input is untrusted.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hull::vmm {

class JsonFields {
 public:
  // What a field that is null means: absent (the API: Firecracker's clients send nulls for
  // what they leave out) or a value of the wrong type (the config file).
  enum class Null { kIsAbsent, kIsWrongType };

  // `object` must be a JSON object whose fields are all in `known`. `path` names it in errors
  // ("machine", "drives[0]"; empty at the top level).
  [[nodiscard]] static Result<JsonFields> Of(nlohmann::json object, std::string path,
                                             std::initializer_list<std::string_view> known,
                                             Null null);

  // Present (and not null, with Null::kIsAbsent).
  bool Has(const char* key) const;
  // The field's path in errors: "<path>.<key>", or "<key>" at the top level.
  std::string Name(std::string_view key) const;

  // Required fields: an error when absent.
  [[nodiscard]] Result<std::string> String(const char* key) const;
  [[nodiscard]] Result<uint64_t> Unsigned(const char* key) const;
  // Optional fields: nullopt when absent.
  [[nodiscard]] Result<std::optional<std::string>> OptionalString(const char* key) const;
  [[nodiscard]] Result<std::optional<uint64_t>> OptionalUnsigned(const char* key) const;
  [[nodiscard]] Result<std::optional<bool>> OptionalBool(const char* key) const;
  // An optional object, or array of objects, each taken as Of() does (with the same Null).
  [[nodiscard]] Result<std::optional<JsonFields>> OptionalObject(
      const char* key, std::initializer_list<std::string_view> known) const;
  [[nodiscard]] Result<std::optional<std::vector<JsonFields>>> OptionalObjects(
      const char* key, std::initializer_list<std::string_view> known) const;

 private:
  JsonFields(nlohmann::json json, std::string path, Null null)
      : json_(std::move(json)), path_(std::move(path)), null_(null) {}
  // The field's value when present, checked to be of `type` (named `expected` in the error).
  [[nodiscard]] Result<const nlohmann::json*> Get(const char* key, nlohmann::json::value_t type,
                                                  const char* expected) const;

  nlohmann::json json_;
  std::string path_;
  Null null_;
};

}  // namespace hull::vmm
