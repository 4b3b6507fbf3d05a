// PanicDetector: watches the guest's console output for the Linux panic banner ("Kernel panic -
// not syncing: ..."), so a panic is reported even without a pvpanic device (which Linux finds
// only through ACPI). Pure; fed from the serial sink.
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
  static constexpr size_t kMaxMessage = 200;

  // Feeds console bytes; returns the complete panic line once its end has been seen.
  std::optional<std::string> Feed(std::span<const uint8_t> bytes);

 private:
  std::string line_;  // the current output line, truncated
};

}  // namespace hull::vmm::devices
