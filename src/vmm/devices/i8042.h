// I8042: the PC keyboard controller at ports 0x60 (data) and 0x64 (status/command), as much of
// it as a guest needs: the controller commands Linux uses while probing, the CPU reset line
// (command 0xfe, or clearing bit 0 of the output port), and keyboard input for Ctrl-Alt-Del.
//
// Register it at kDataPort with length 5 (0x60..0x64); offsets 1..3 are unused.
// Thread-safety: all methods may be called concurrently; one mutex guards the state. The reset
// callback is called without the mutex held.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "vmm/devices/bus.h"
#include "vmm/devices/interrupt.h"

namespace hull::vmm::devices {

class I8042 : public BusDevice {
 public:
  static constexpr uint16_t kDataPort = 0x60;
  static constexpr uint64_t kPortSpan = 5;
  static constexpr uint32_t kKeyboardIrq = 1;
  static constexpr uint8_t kStatusOffset = 4;
  static constexpr uint8_t kCommandResetCpu = 0xfe;

  static constexpr uint8_t kStatusOutputFull = 0x01;
  static constexpr uint8_t kStatusSystemFlag = 0x04;
  static constexpr uint8_t kStatusCommand = 0x08;  // last write was to the command port
  static constexpr uint8_t kStatusUnlocked = 0x10;  // keyboard not inhibited by the keylock
  static constexpr uint8_t kConfigKeyboardInterrupt = 0x01;

  // `keyboard_interrupt` (IRQ 1) must outlive this object; `reset` is called when the guest
  // asks for a CPU reset.
  I8042(Interrupt& keyboard_interrupt, std::function<void()> reset);

  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // Queues the scancodes (set 1, as the controller's translation delivers them) of pressing and
  // releasing Ctrl-Alt-Del, and raises IRQ 1 if the guest enabled keyboard interrupts.
  void SendCtrlAltDel();

 private:
  // Both with mutex_ held.
  void PushOutput(uint8_t byte);
  bool WantInterrupt() const;

  std::mutex mutex_;
  Interrupt& interrupt_;
  std::function<void()> reset_;
  std::deque<uint8_t> output_;
  uint8_t status_ = kStatusSystemFlag | kStatusUnlocked;
  uint8_t config_ = 0x45;  // keyboard interrupt on, system flag, translation
  uint8_t pending_command_ = 0;  // a controller command waiting for its data byte
  uint8_t output_port_ = 0x01;  // bit 0: not in reset
};

}  // namespace hull::vmm::devices
