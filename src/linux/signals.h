// Signal names as runc accepts them: "KILL", "SIGKILL", "9", "SIGRTMIN+3", in any case
// ("term", "sigKill").
#pragma once

#include <string_view>

#include "base/error.h"

namespace hull::linux {

[[nodiscard]] Result<int> ParseSignal(std::string_view text);

}  // namespace hull::linux
