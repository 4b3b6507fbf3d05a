#include "vmm/devices/i8042.h"

#include <cstdio>

#include "base/log.h"

namespace hull::vmm::devices {
namespace {
constexpr uint8_t kCommandReadConfig = 0x20;
constexpr uint8_t kCommandWriteConfig = 0x60;
constexpr uint8_t kCommandDisableAux = 0xa7;
constexpr uint8_t kCommandEnableAux = 0xa8;
constexpr uint8_t kCommandTestAux = 0xa9;
constexpr uint8_t kCommandSelfTest = 0xaa;
constexpr uint8_t kCommandTestKeyboard = 0xab;
constexpr uint8_t kCommandDisableKeyboard = 0xad;
constexpr uint8_t kCommandEnableKeyboard = 0xae;
constexpr uint8_t kCommandReadOutputPort = 0xd0;
constexpr uint8_t kCommandWriteOutputPort = 0xd1;
constexpr uint8_t kCommandWriteAux = 0xd4;
constexpr uint8_t kKeyboardAck = 0xfa;
constexpr uint8_t kKeyboardReset = 0xff;
constexpr uint8_t kSelfTestPassed = 0x55;
constexpr size_t kOutputCapacity = 64;
}  // namespace

I8042::I8042(Interrupt& keyboard_interrupt, std::function<void()> reset)
    : interrupt_(keyboard_interrupt), reset_(std::move(reset)) {}

void I8042::PushOutput(uint8_t byte) {
  if (output_.size() < kOutputCapacity) output_.push_back(byte);
}

bool I8042::WantInterrupt() const {
  return !output_.empty() && (config_ & kConfigKeyboardInterrupt);
}

void I8042::Read(uint64_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  std::fill(data.begin(), data.end(), 0);
  bool raise = false;
  {
    std::lock_guard lock(mutex_);
    if (offset == 0) {
      if (!output_.empty()) {
        data[0] = output_.front();
        output_.pop_front();
        raise = WantInterrupt();  // the next byte gets its own edge
      }
    } else if (offset == kStatusOffset) {
      data[0] = static_cast<uint8_t>(status_ | (output_.empty() ? 0 : kStatusOutputFull));
    } else {
      data[0] = 0xff;
    }
  }
  if (offset == 0) {
    char text[64];
    snprintf(text, sizeof(text), "i8042: guest read %#04x%s", data[0], raise ? ", next byte raised" : "");
    log::Debug(text);
  }
  if (raise) interrupt_.Trigger();
}

void I8042::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  uint8_t value = data[0];
  {
    char text[64];
    snprintf(text, sizeof(text), "i8042: guest wrote %#04x to port %#x", value,
             static_cast<unsigned>(kDataPort + offset));
    log::Debug(text);
  }
  bool reset = false;
  bool raise = false;
  {
    std::lock_guard lock(mutex_);
    if (offset == kStatusOffset) {
      status_ |= kStatusCommand;
      pending_command_ = 0;
      switch (value) {
        case kCommandReadConfig:
          PushOutput(config_);
          break;
        case kCommandWriteConfig:
        case kCommandWriteOutputPort:
        case kCommandWriteAux:
          pending_command_ = value;
          break;
        case kCommandSelfTest:
          PushOutput(kSelfTestPassed);
          break;
        case kCommandTestKeyboard:
        case kCommandTestAux:
          PushOutput(0x00);
          break;
        case kCommandReadOutputPort:
          PushOutput(output_port_);
          break;
        case kCommandDisableKeyboard:
        case kCommandEnableKeyboard:
        case kCommandDisableAux:
        case kCommandEnableAux:
          break;
        case kCommandResetCpu:
          reset = true;
          break;
        default:
          // 0xf0-0xff pulse output port lines; bit 0 is the reset line.
          if (value >= 0xf0 && !(value & 0x01)) reset = true;
          break;
      }
    } else if (offset == 0) {
      status_ &= static_cast<uint8_t>(~kStatusCommand);
      switch (pending_command_) {
        case kCommandWriteConfig:
          config_ = value;
          break;
        case kCommandWriteOutputPort:
          output_port_ = value;
          if (!(value & 0x01)) reset = true;
          break;
        case kCommandWriteAux:
          break;  // no mouse: dropped
        default:
          // A keyboard command: acknowledge; reset also reports a passed self-test.
          PushOutput(kKeyboardAck);
          if (value == kKeyboardReset) PushOutput(0xaa);
          raise = WantInterrupt();
          break;
      }
      pending_command_ = 0;
    }
  }
  if (raise) interrupt_.Trigger();
  if (reset) reset_();
}

void I8042::SendCtrlAltDel() {
  bool raise;
  {
    std::lock_guard lock(mutex_);
    for (uint8_t code : {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d}) PushOutput(code);
    raise = WantInterrupt();
  }
  if (raise) interrupt_.Trigger();
}

}  // namespace hull::vmm::devices
