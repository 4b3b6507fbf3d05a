// Time helpers.
#pragma once

#include <string>

namespace hull {

// The current time in RFC 3339 with nanoseconds, UTC: "2026-11-21T11:22:10.123456789Z".
std::string NowRfc3339();

}  // namespace hull
