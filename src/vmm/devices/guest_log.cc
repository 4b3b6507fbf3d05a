#include "vmm/devices/guest_log.h"

#include <chrono>
#include <mutex>
#include <string>

#include "base/log.h"

namespace hull::vmm::devices {

void GuestWarning(std::string_view message) {
  static std::mutex mutex;
  static double tokens = kGuestWarningBurst;
  static auto last = std::chrono::steady_clock::now();
  static long suppressed = 0;
  std::string text;
  {
    std::lock_guard lock(mutex);
    auto now = std::chrono::steady_clock::now();
    tokens = std::min<double>(kGuestWarningBurst,
                              tokens + std::chrono::duration<double>(now - last).count() * kGuestWarningsPerSecond);
    last = now;
    if (tokens < 1) {
      ++suppressed;
      return;
    }
    tokens -= 1;
    text = std::string(message);
    if (suppressed > 0) text += " (" + std::to_string(suppressed) + " similar guest errors suppressed)";
    suppressed = 0;
  }
  log::Warning(text);
}

}  // namespace hull::vmm::devices
