#include "oci/json_read.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace hull::oci::json_internal {
namespace {

bool IsIdentifier(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// A short rendering of a number for messages ("-1", "1.5").
std::string NumberText(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// nlohmann's parse_error::what() reads
//   [json.exception.parse_error.101] parse error at line 1, column 5: <reason>
// where <reason> may embed the raw input ("; last read: '...'"), which can span lines. Keep
// only the reason, without the echoed input.
std::string ParseErrorReason(const std::string& what) {
  std::string reason = what;
  size_t column = reason.find("column ");
  if (column != std::string::npos) {
    size_t colon = reason.find(": ", column);
    if (colon != std::string::npos) reason = reason.substr(colon + 2);
  } else if (size_t bracket = reason.find("] "); bracket != std::string::npos) {
    reason = reason.substr(bracket + 2);
  }
  const std::string_view kLastRead = "; last read: '";
  size_t last_read = reason.find(kLastRead);
  if (last_read != std::string::npos) {
    size_t end = reason.rfind("'; ");
    if (end != std::string::npos && end > last_read) {
      reason.erase(last_read, end + 1 - last_read);
    } else {
      reason.erase(last_read);
    }
  }
  return reason;
}

}  // namespace

std::string Member(std::string_view path, std::string_view key) {
  std::string out(path);
  if (IsIdentifier(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += '[';
    out += Quote(key);
    out += ']';
  }
  return out;
}

std::string Element(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

tl::unexpected<Error> FailAt(std::string_view path, std::string_view message) {
  std::string where = path.empty() ? std::string("top level") : std::string(path);
  return Fail(where + ": " + std::string(message));
}

tl::unexpected<Error> FailExpected(std::string_view path, std::string_view what,
                                   const Json& value) {
  return FailAt(path, "expected " + std::string(what) + ", got " + value.type_name());
}

Result<Json> ParseDocument(std::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    // e.byte is the 1-based offset of the last character read, i.e. the offending one.
    size_t offset = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
    size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
    if (offset == 0 || line_start == std::string_view::npos) {
      line_start = 0;
    } else {
      line_start += 1;
    }
    size_t column = offset - line_start + 1;
    return Fail("invalid JSON at line " + std::to_string(line) + ", column " +
                std::to_string(column) + ": " + ParseErrorReason(e.what()));
  } catch (const Json::exception& e) {
    // Number overflow ("1e999") is reported as out_of_range, without a position.
    std::string what = e.what();
    if (size_t bracket = what.find("] "); bracket != std::string::npos) what.erase(0, bracket + 2);
    return Fail("invalid JSON: " + what);
  }
}

Result<void> ExpectObject(const Json& value, std::string_view path) {
  if (!value.is_object()) return FailExpected(path, "object", value);
  return {};
}

Result<uint64_t> ReadUnsigned(const Json& value, std::string_view path, uint64_t max) {
  auto out_of_range = [&] {
    return FailAt(path, NumberText(value) + " is out of range (0.." + std::to_string(max) + ")");
  };
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (v > max) return out_of_range();
    return v;
  }
  if (value.is_number_integer()) return out_of_range();  // negative
  if (value.is_number_float()) {
    double d = value.get<double>();
    // An integral value this large only reaches us as a float because it overflowed uint64.
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) >= 9.2e18) return out_of_range();
    return FailAt(path, "expected unsigned integer, got non-integer number " + NumberText(value));
  }
  return FailExpected(path, "unsigned integer", value);
}

Result<int64_t> ReadSigned(const Json& value, std::string_view path, int64_t min, int64_t max) {
  auto out_of_range = [&] {
    return FailAt(path, NumberText(value) + " is out of range (" + std::to_string(min) + ".." +
                            std::to_string(max) + ")");
  };
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(max)) return out_of_range();
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v < min || v > max) return out_of_range();
    return v;
  }
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) >= 9.2e18) return out_of_range();
    return FailAt(path, "expected integer, got non-integer number " + NumberText(value));
  }
  return FailExpected(path, "integer", value);
}

Result<void> FromJson(const Json& value, const std::string& path, std::string& out) {
  if (!value.is_string()) return FailExpected(path, "string", value);
  out = value.get<std::string>();
  return {};
}

Result<void> FromJson(const Json& value, const std::string& path, bool& out) {
  if (!value.is_boolean()) return FailExpected(path, "boolean", value);
  out = value.get<bool>();
  return {};
}

bool Has(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && !it->is_null();
}

}  // namespace hull::oci::json_internal
