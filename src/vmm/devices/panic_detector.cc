#include "vmm/devices/panic_detector.h"

namespace hull::vmm::devices {

std::optional<std::string> PanicDetector::Feed(std::span<const uint8_t> bytes) {
  std::optional<std::string> found;
  for (uint8_t byte : bytes) {
    if (byte == '\n' || byte == '\r') {
      size_t at = line_.find(kMarker);
      if (line_.find(kEndMarker) != std::string::npos) ended_ = true;
      else if (at != std::string::npos && !found) found = line_.substr(at);
      line_.clear();
      continue;
    }
    if (line_.size() < kMarker.size() + kMaxMessage + 64) line_.push_back(static_cast<char>(byte));
  }
  return found;
}

}  // namespace hull::vmm::devices
