// Rtc: the CMOS real-time clock and its 128 bytes of RAM at ports 0x70 (index; bit 7 is the
// NMI mask and ignored) and 0x71 (data). Time registers report the host's current UTC time in
// BCD, 24-hour mode, so a guest reading the clock at boot gets the wall time and does not stall
// waiting for an update cycle (UIP always reads clear). No alarms or periodic interrupts.
//
// Thread-safety: all methods may be called concurrently; one mutex guards the state.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>

#include "vmm/devices/bus.h"

namespace hull::vmm::devices {

class Rtc : public BusDevice {
 public:
  static constexpr uint16_t kIndexPort = 0x70;
  static constexpr uint64_t kPortSpan = 2;
  static constexpr uint8_t kSeconds = 0x00, kMinutes = 0x02, kHours = 0x04, kWeekday = 0x06,
                           kDayOfMonth = 0x07, kMonth = 0x08, kYear = 0x09, kStatusA = 0x0a,
                           kStatusB = 0x0b, kStatusC = 0x0c, kStatusD = 0x0d, kCentury = 0x32;

  // `now` gives the current time (seconds since the epoch); injectable for tests.
  explicit Rtc(std::function<time_t()> now = [] { return ::time(nullptr); });

  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  uint8_t ReadRegister(uint8_t index);

  std::mutex mutex_;
  std::function<time_t()> now_;
  uint8_t index_ = 0;
  uint8_t ram_[128] = {};
};

}  // namespace hull::vmm::devices
