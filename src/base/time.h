// Time helpers.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/error.h"

namespace hull {

// The current time in RFC 3339 with nanoseconds, UTC: "2026-11-21T11:22:10.123456789Z".
std::string NowRfc3339();

// A duration as Go's time.ParseDuration reads it, which is what runc's flags take: a signed
// sequence of decimal numbers, each with an optional fraction and a unit (ns, us, µs, ms, s, m,
// h): "5s", "1.5s", "500ms", "1h30m", "-2m"; "0" alone needs no unit. The error says what is
// wrong with `text` (the caller names the flag).
[[nodiscard]] Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

}  // namespace hull
