// PanicDetector: watches the guest's console output for the Linux panic banner ("Kernel panic -
// not syncing: ..."), so a panic is reported even without a pvpanic device (which Linux finds
// only through ACPI), and for the closing "---[ end Kernel panic" line after which a guest
// with the default panic=0 hangs forever. Pure; fed from the serial sink.
//
// Thread-safety: not thread-safe; the serial device calls it under its own lock.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace hull::vmm::devices {

class PanicDetector {
 public:
  static constexpr std::string_view kMarker = "Kernel panic - not syncing";
  static constexpr std::string_view kEndMarker = "---[ end Kernel panic";
  static constexpr size_t kMaxMessage = 200;

  // Feeds console bytes; returns the complete panic line once its end has been seen.
  std::optional<std::string> Feed(std::span<const uint8_t> bytes);
  // Whether the closing line of a panic report has been seen.
  bool ended() const { return ended_; }

 private:
  bool ended_ = false;
  std::string line_;  // the current output line, truncated
};

}  // namespace hull::vmm::devices
