#include "base/time.h"

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>

namespace hull {

std::string NowRfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
  return buf;
}

namespace {

struct DurationUnit {
  std::string_view name;
  uint64_t nanoseconds;
};

constexpr DurationUnit kDurationUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\u00b5s", 1000},  // micro sign
    {"\u03bcs", 1000},  // Greek small letter mu
    {"ms", 1000 * 1000},
    {"s", 1000 * 1000 * 1000},
    {"m", 60ull * 1000 * 1000 * 1000},
    {"h", 3600ull * 1000 * 1000 * 1000},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Fail("invalid duration " + Quote(text) + ": " + why +
                " (Go duration syntax: 5s, 1.5s, 500ms, 1m30s, 2h)");
  };
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  if (rest == "0") return std::chrono::nanoseconds(0);
  if (rest.empty()) return invalid("no number");
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total = 0;
  while (!rest.empty()) {
    // The number: digits, then optionally '.' and more digits; at least one digit in all.
    uint64_t whole = 0;
    bool whole_overflow = false;
    size_t i = 0;
    for (; i < rest.size() && IsDigit(rest[i]); ++i) {
      if (whole > (kMax - (rest[i] - '0')) / 10) whole_overflow = true;
      whole = whole * 10 + static_cast<uint64_t>(rest[i] - '0');
    }
    size_t digits = i;
    uint64_t fraction = 0, scale = 1;
    if (i < rest.size() && rest[i] == '.') {
      ++i;
      for (; i < rest.size() && IsDigit(rest[i]); ++i, ++digits) {
        if (scale > kMax / 10) continue;  // beyond nanosecond precision: ignored, as in Go
        fraction = fraction * 10 + static_cast<uint64_t>(rest[i] - '0');
        scale *= 10;
      }
    }
    if (digits == 0) return invalid("expected a number at " + Quote(rest));
    rest.remove_prefix(i);
    // The unit: everything up to the next number, as in Go.
    size_t unit_length = 0;
    while (unit_length < rest.size() && !IsDigit(rest[unit_length]) && rest[unit_length] != '.')
      ++unit_length;
    if (unit_length == 0) return invalid("missing unit");
    std::string_view unit_name = rest.substr(0, unit_length);
    const DurationUnit* unit = nullptr;
    for (const DurationUnit& candidate : kDurationUnits)
      if (candidate.name == unit_name) unit = &candidate;
    if (!unit) return invalid("unknown unit " + Quote(unit_name));
    rest.remove_prefix(unit_length);
    if (whole_overflow || whole > kMax / unit->nanoseconds) return invalid("too large");
    uint64_t value = whole * unit->nanoseconds;
    // fraction / scale of a unit, rounded down to whole nanoseconds.
    value += static_cast<uint64_t>(static_cast<long double>(fraction) * unit->nanoseconds / scale);
    if (value > kMax - total) return invalid("too large");
    total += value;
  }
  int64_t signed_total = static_cast<int64_t>(total);
  return std::chrono::nanoseconds(negative ? -signed_total : signed_total);
}

}  // namespace hull
