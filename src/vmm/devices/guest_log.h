// GuestWarning: logs a problem a guest caused (a malformed request, a bad chain) without
// letting a guest flood the host's log: at most kBurst messages, refilled at kPerSecond, and a
// count of what was suppressed is reported with the next message that gets through.
//
// Thread-safety: may be called from any thread.
#pragma once

#include <string_view>

namespace hull::vmm::devices {

inline constexpr int kGuestWarningBurst = 20;
inline constexpr int kGuestWarningsPerSecond = 5;

void GuestWarning(std::string_view message);

}  // namespace hull::vmm::devices
