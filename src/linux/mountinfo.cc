#include "linux/mountinfo.h"

#include "base/strings.h"
#include "linux/file.h"

namespace hull::linux {

namespace {

bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }

// Splits on single spaces; the kernel never emits runs of spaces (it escapes them).
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < line.size()) {
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    if (end > start) out.push_back(line.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool ParseDevice(std::string_view field, unsigned* major, unsigned* minor) {
  size_t colon = field.find(':');
  if (colon == std::string_view::npos) return false;
  auto maj = ParseUint(field.substr(0, colon));
  auto min = ParseUint(field.substr(colon + 1));
  if (!maj || !min) return false;
  *major = static_cast<unsigned>(*maj);
  *minor = static_cast<unsigned>(*min);
  return true;
}

Result<MountInfoEntry> ParseLine(std::string_view line) {
  std::vector<std::string_view> fields = Fields(line);
  // Six fixed fields, optional fields, the "-" separator, then three more.
  size_t separator = 0;
  for (size_t i = 6; i < fields.size(); ++i) {
    if (fields[i] == "-") {
      separator = i;
      break;
    }
  }
  if (separator == 0 || fields.size() < separator + 3) return Fail("malformed entry");
  MountInfoEntry entry;
  auto id = ParseInt(fields[0]);
  auto parent = ParseInt(fields[1]);
  if (!id || !parent) return Fail("malformed mount id");
  entry.mount_id = static_cast<int>(*id);
  entry.parent_id = static_cast<int>(*parent);
  if (!ParseDevice(fields[2], &entry.major, &entry.minor)) return Fail("malformed device");
  entry.root = UnescapeMountInfoField(fields[3]);
  entry.mount_point = UnescapeMountInfoField(fields[4]);
  entry.mount_options = std::string(fields[5]);
  for (size_t i = 6; i < separator; ++i) entry.optional_fields.emplace_back(fields[i]);
  entry.fs_type = UnescapeMountInfoField(fields[separator + 1]);
  entry.source = UnescapeMountInfoField(fields[separator + 2]);
  // Super options are the last field; a line with more fields after it is tolerated.
  if (fields.size() > separator + 3) entry.super_options = std::string(fields[separator + 3]);
  return entry;
}

}  // namespace

std::string UnescapeMountInfoField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && IsOctalDigit(field[i + 1]) &&
        IsOctalDigit(field[i + 2]) && IsOctalDigit(field[i + 3])) {
      out += static_cast<char>(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) |
                               (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

Result<std::vector<MountInfoEntry>> ParseMountInfo(std::string_view text) {
  std::vector<MountInfoEntry> entries;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (Trim(line).empty()) continue;
    entries.push_back(TRY_CTX(ParseLine(line), "mountinfo line " + std::to_string(line_number)));
  }
  return entries;
}

Result<std::vector<MountInfoEntry>> ReadSelfMountInfo() {
  std::string text = TRY(ReadFile("/proc/self/mountinfo"));
  return ParseMountInfo(text);
}

}  // namespace hull::linux
