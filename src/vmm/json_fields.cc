#include "vmm/json_fields.h"

#include <algorithm>

namespace hull::vmm {

using Json = nlohmann::json;

Result<JsonFields> JsonFields::Of(Json object, std::string path,
                                  std::initializer_list<std::string_view> known, Null null) {
  if (!object.is_object()) {
    if (path.empty()) return Fail(std::string("expected a JSON object, got ") + object.type_name());
    return Fail(path + ": expected object, got " + object.type_name());
  }
  JsonFields fields(std::move(object), std::move(path), null);
  for (const auto& [key, value] : fields.json_.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end())
      return Fail(fields.Name(key) + ": unknown field");
  }
  return fields;
}

bool JsonFields::Has(const char* key) const {
  auto it = json_.find(key);
  return it != json_.end() && !(null_ == Null::kIsAbsent && it->is_null());
}

std::string JsonFields::Name(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

Result<const Json*> JsonFields::Get(const char* key, Json::value_t type,
                                    const char* expected) const {
  if (!Has(key)) return nullptr;
  const Json& value = json_.at(key);
  if (value.type() == type) return &value;
  if (type == Json::value_t::number_unsigned && value.is_number_integer())
    return Fail(Name(key) + ": must not be negative");
  return Fail(Name(key) + ": expected " + expected + ", got " + value.type_name());
}

Result<std::string> JsonFields::String(const char* key) const {
  std::optional<std::string> value = TRY(OptionalString(key));
  if (!value) return Fail(Name(key) + ": required");
  return std::move(*value);
}

Result<uint64_t> JsonFields::Unsigned(const char* key) const {
  std::optional<uint64_t> value = TRY(OptionalUnsigned(key));
  if (!value) return Fail(Name(key) + ": required");
  return *value;
}

Result<std::optional<std::string>> JsonFields::OptionalString(const char* key) const {
  const Json* value = TRY(Get(key, Json::value_t::string, "string"));
  if (!value) return std::nullopt;
  return value->get<std::string>();
}

Result<std::optional<uint64_t>> JsonFields::OptionalUnsigned(const char* key) const {
  const Json* value = TRY(Get(key, Json::value_t::number_unsigned, "unsigned integer"));
  if (!value) return std::nullopt;
  return value->get<uint64_t>();
}

Result<std::optional<bool>> JsonFields::OptionalBool(const char* key) const {
  const Json* value = TRY(Get(key, Json::value_t::boolean, "boolean"));
  if (!value) return std::nullopt;
  return value->get<bool>();
}

Result<std::optional<JsonFields>> JsonFields::OptionalObject(
    const char* key, std::initializer_list<std::string_view> known) const {
  if (!Has(key)) return std::nullopt;
  return TRY(Of(json_.at(key), Name(key), known, null_));
}

Result<std::optional<std::vector<JsonFields>>> JsonFields::OptionalObjects(
    const char* key, std::initializer_list<std::string_view> known) const {
  const Json* array = TRY(Get(key, Json::value_t::array, "array"));
  if (!array) return std::nullopt;
  std::vector<JsonFields> items;
  for (size_t i = 0; i < array->size(); ++i)
    items.push_back(TRY(Of((*array)[i], Name(key) + "[" + std::to_string(i) + "]", known, null_)));
  return items;
}

}  // namespace hull::vmm
