#include "vmm/devices/ioapic.h"

#include <algorithm>
#include <cstring>

namespace hull::vmm::devices {
namespace {

constexpr uint64_t kRegisterSelect = 0x00;
constexpr uint64_t kRegisterWindow = 0x10;
constexpr uint32_t kIdRegister = 0x00;
constexpr uint32_t kVersionRegister = 0x01;
constexpr uint32_t kArbitrationRegister = 0x02;
constexpr uint32_t kFirstRedirectionRegister = 0x10;

constexpr uint64_t kMsiAddressBase = 0xfee00000;
constexpr uint64_t kReadOnlyBits = IoApic::kDeliveryStatus | IoApic::kRemoteIrr;

uint32_t LoadLittleEndian(std::span<const uint8_t> data) {
  uint32_t value = 0;
  std::memcpy(&value, data.data(), std::min<size_t>(data.size(), sizeof(value)));
  return value;
}

}  // namespace

std::optional<MsiMessage> RedirectionToMsi(uint64_t entry) {
  if (entry & IoApic::kMasked) return std::nullopt;
  uint64_t destination = (entry >> 56) & 0xff;
  uint32_t delivery_mode = (entry >> 8) & 7;
  bool logical = entry & IoApic::kDestinationModeLogical;
  bool level = entry & IoApic::kLevelTriggered;
  MsiMessage message;
  message.address = kMsiAddressBase | (destination << 12) | (logical ? 1u << 2 : 0);
  // Data: vector, delivery mode, and for level-triggered interrupts the trigger-mode bit (15)
  // with "assert" (14), which makes the LAPIC report the EOI.
  message.data = static_cast<uint32_t>(entry & IoApic::kVectorMask) | (delivery_mode << 8) |
                 (level ? (1u << 15) | (1u << 14) : 0);
  return message;
}

IoApic::IoApic(uint8_t id, MsiController& controller) : controller_(controller), id_(id) {
  for (uint32_t pin = 0; pin < kPins; ++pin) {
    entries_[pin] = kMasked;
    controller_.SetRoute(pin, std::nullopt);
  }
}

void IoApic::Read(uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  uint32_t value = 0;
  {
    std::lock_guard lock(mutex_);
    if (offset == kRegisterSelect)
      value = select_;
    else if (offset == kRegisterWindow)
      value = ReadRegister(select_);
    else
      return;
  }
  std::memcpy(data.data(), &value, std::min(data.size(), sizeof(value)));
}

void IoApic::Write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (offset == kRegisterSelect)
    select_ = LoadLittleEndian(data) & 0xff;
  else if (offset == kRegisterWindow)
    WriteRegister(select_, LoadLittleEndian(data));
}

uint32_t IoApic::ReadRegister(uint32_t index) const {
  switch (index) {
    case kIdRegister:
    case kArbitrationRegister:
      return uint32_t{id_} << 24;
    case kVersionRegister:
      return kVersion | ((kPins - 1) << 16);
    default:
      break;
  }
  if (index < kFirstRedirectionRegister || index >= kFirstRedirectionRegister + 2 * kPins) return 0;
  uint64_t entry = entries_[(index - kFirstRedirectionRegister) / 2];
  return static_cast<uint32_t>((index & 1) ? entry >> 32 : entry);
}

void IoApic::WriteRegister(uint32_t index, uint32_t value) {
  if (index == kIdRegister) {
    id_ = static_cast<uint8_t>((value >> 24) & 0x0f);
    return;
  }
  if (index < kFirstRedirectionRegister || index >= kFirstRedirectionRegister + 2 * kPins) return;
  uint32_t pin = (index - kFirstRedirectionRegister) / 2;
  uint64_t& entry = entries_[pin];
  if (index & 1) {
    entry = (entry & 0xffffffffULL) | (uint64_t{value} << 32);
  } else {
    entry = (entry & (0xffffffff00000000ULL | kReadOnlyBits)) | (value & ~kReadOnlyBits);
  }
  if (!(entry & kLevelTriggered)) entry &= ~kRemoteIrr;
  controller_.SetRoute(pin, RedirectionToMsi(entry));
  DeliverPendingLevel(pin);
}

void IoApic::DeliverPendingLevel(uint32_t pin) {
  uint64_t& entry = entries_[pin];
  if (!(entry & kLevelTriggered) || (entry & (kMasked | kRemoteIrr)) || !asserted_[pin]) return;
  entry |= kRemoteIrr;
  controller_.SignalMsi(*RedirectionToMsi(entry));
}

void IoApic::SetPinLevel(uint32_t pin, bool asserted) {
  if (pin >= kPins) return;
  std::lock_guard lock(mutex_);
  bool rising = asserted && !asserted_[pin];
  asserted_[pin] = asserted;
  uint64_t entry = entries_[pin];
  if (entry & kLevelTriggered) {
    DeliverPendingLevel(pin);
  } else if (rising && !(entry & kMasked)) {
    controller_.SignalMsi(*RedirectionToMsi(entry));
  }
}

void IoApic::PulsePin(uint32_t pin) {
  if (pin >= kPins) return;
  std::lock_guard lock(mutex_);
  uint64_t entry = entries_[pin];
  if (entry & kMasked) return;
  if (entry & kLevelTriggered) {
    // A pulse on a level-triggered pin: asserted for the delivery, released before the EOI.
    if (!(entry & kRemoteIrr)) {
      entries_[pin] |= kRemoteIrr;
      controller_.SignalMsi(*RedirectionToMsi(entry));
    }
    return;
  }
  if (!asserted_[pin]) controller_.SignalMsi(*RedirectionToMsi(entry));
}

void IoApic::EndOfInterrupt(uint8_t vector) {
  std::lock_guard lock(mutex_);
  for (uint32_t pin = 0; pin < kPins; ++pin) {
    uint64_t& entry = entries_[pin];
    if ((entry & kVectorMask) != vector || !(entry & kLevelTriggered)) continue;
    entry &= ~kRemoteIrr;
    DeliverPendingLevel(pin);
  }
}

uint64_t IoApic::Entry(uint32_t pin) const {
  std::lock_guard lock(mutex_);
  return pin < kPins ? entries_[pin] : 0;
}

}  // namespace hull::vmm::devices
