#include "vmm/devices/rtc.h"

namespace hull::vmm::devices {
namespace {
uint8_t Bcd(int value) { return static_cast<uint8_t>(((value / 10) % 10) << 4 | (value % 10)); }
}  // namespace

Rtc::Rtc(std::function<time_t()> now) : now_(std::move(now)) {
  ram_[kStatusA] = 0x26;  // 32.768 kHz time base, 1024 Hz rate; UIP clear
  ram_[kStatusB] = 0x02;  // 24-hour, BCD, no interrupts
  ram_[kStatusD] = 0x80;  // valid RAM and time: the battery is fine
}

uint8_t Rtc::ReadRegister(uint8_t index) {
  time_t now = now_();
  struct tm tm {};
  gmtime_r(&now, &tm);
  switch (index) {
    case kSeconds: return Bcd(tm.tm_sec);
    case kMinutes: return Bcd(tm.tm_min);
    case kHours: return Bcd(tm.tm_hour);
    case kWeekday: return Bcd(tm.tm_wday + 1);
    case kDayOfMonth: return Bcd(tm.tm_mday);
    case kMonth: return Bcd(tm.tm_mon + 1);
    case kYear: return Bcd(tm.tm_year % 100);
    case kCentury: return Bcd((tm.tm_year + 1900) / 100);
    case kStatusC: return 0;  // no interrupt flags; reading clears them
    default: return ram_[index];
  }
}

void Rtc::Read(uint64_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  std::fill(data.begin(), data.end(), 0);
  std::lock_guard lock(mutex_);
  data[0] = offset == 0 ? index_ : ReadRegister(index_);
}

void Rtc::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  std::lock_guard lock(mutex_);
  if (offset == 0) {
    index_ = data[0] & 0x7f;
    return;
  }
  // Setting the clock is ignored (time always follows the host); status and RAM bytes stick,
  // except the read-only status C and D.
  if (index_ == kStatusC || index_ == kStatusD || index_ <= kYear || index_ == kCentury) return;
  if (index_ == kStatusA) {
    ram_[kStatusA] = data[0] & 0x7f;  // UIP is read-only
    return;
  }
  ram_[index_] = data[0];
}

}  // namespace hull::vmm::devices
