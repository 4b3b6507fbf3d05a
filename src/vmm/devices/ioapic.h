// IoApic: an 82093AA-style I/O APIC with 24 pins, in user space, for a KVM "split irqchip"
// (LAPICs in the kernel, IOAPIC here, no PIC or PIT).
//
// Why not KVM's in-kernel IOAPIC: creating it (and its PIC) registers devices on the VM's I/O
// bus, and on current kernels each registration starts an SRCU grace period that the next
// memory-slot change or the VM's destruction must wait out: 7 ms of a short VM's life on the
// project's machines (bench/vmm.sh). Cloud Hypervisor takes the same route.
//
// How interrupts travel. The guest programs a redirection entry per pin; each entry becomes an
// MSI message (the format the LAPICs accept), and the IoApic hands every pin's current message
// to an MsiController:
//   - SetRoute(pin, message) keeps KVM's GSI routing table in step, so interrupts raised in the
//     kernel (virtio irqfds on GSI == pin) reach the guest without leaving the kernel, and so that
//     KVM knows which vectors are level-triggered (it then reports their EOI, below);
//   - SignalMsi(message) delivers one interrupt now, for lines driven from user space
//     (SetPinLevel: the UART, the i8042).
// Edge-triggered pins deliver on a rising edge while unmasked; an edge while masked is lost, as
// on the real chip. Level-triggered pins deliver while asserted and unmasked and remember it in
// Remote IRR until the guest's EOI for that vector (EndOfInterrupt), then deliver again if the
// line is still asserted. Levels are logical ("asserted"); the polarity bit is stored for the
// guest but does not invert a line, as in KVM's own IOAPIC.
//
// Registers (MMIO at kBaseAddress): IOREGSEL at 0x00 selects, IOWIN at 0x10 reads or writes the
// selected 32-bit register: 0x00 id, 0x01 version (0x11, 24 entries), 0x02 arbitration id,
// 0x10 + 2n / 0x11 + 2n the low / high half of redirection entry n. All guest-controlled: bad
// selectors read as zero and ignore writes.
//
// Thread-safety: every method may be called from any thread; one mutex guards the registers.
// The MsiController is called with that mutex held, so calls for one pin stay in order.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>

#include "vmm/devices/bus.h"
#include "vmm/devices/interrupt.h"

namespace hull::vmm::devices {

struct MsiMessage {
  uint64_t address = 0;
  uint32_t data = 0;
  bool operator==(const MsiMessage&) const = default;
};

// Where the IoApic's interrupts go: over KVM in the VM, a recording fake in tests.
class MsiController {
 public:
  virtual ~MsiController() = default;
  virtual void SignalMsi(const MsiMessage& message) = 0;
  // The message GSI `pin` sends from now on; nullopt while the pin is masked.
  virtual void SetRoute(uint32_t pin, std::optional<MsiMessage> message) = 0;
};

// The MSI message a redirection entry sends, or nullopt if the entry is masked. Pure.
std::optional<MsiMessage> RedirectionToMsi(uint64_t entry);

class IoApic : public BusDevice {
 public:
  static constexpr uint64_t kBaseAddress = 0xfec00000;
  static constexpr uint64_t kWindowSize = 0x1000;
  static constexpr uint32_t kPins = 24;
  static constexpr uint32_t kVersion = 0x11;

  // Redirection entry bits.
  static constexpr uint64_t kVectorMask = 0xff;
  static constexpr uint64_t kDestinationModeLogical = 1ULL << 11;
  static constexpr uint64_t kDeliveryStatus = 1ULL << 12;  // read-only
  static constexpr uint64_t kPolarityLow = 1ULL << 13;
  static constexpr uint64_t kRemoteIrr = 1ULL << 14;  // read-only
  static constexpr uint64_t kLevelTriggered = 1ULL << 15;
  static constexpr uint64_t kMasked = 1ULL << 16;

  // `controller` must outlive this object. Every pin starts masked (the reset state), and the
  // controller is told so.
  IoApic(uint8_t id, MsiController& controller);

  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // A user-space device drives pin `pin` (out-of-range pins are ignored).
  void SetPinLevel(uint32_t pin, bool asserted);
  // An edge on `pin` (asserted, then released) as one step, so that pulses from two threads
  // cannot overlap into a single edge.
  void PulsePin(uint32_t pin);
  // The guest ended the interrupt with vector `vector` (KVM_EXIT_IOAPIC_EOI).
  void EndOfInterrupt(uint8_t vector);
  // The current redirection entry of `pin` (for tests and debugging).
  uint64_t Entry(uint32_t pin) const;

 private:
  uint32_t ReadRegister(uint32_t index) const;
  void WriteRegister(uint32_t index, uint32_t value);
  // Delivers a level-triggered pin that is asserted, unmasked and not awaiting its EOI.
  void DeliverPendingLevel(uint32_t pin);

  mutable std::mutex mutex_;
  MsiController& controller_;
  uint8_t id_;
  uint32_t select_ = 0;
  std::array<uint64_t, kPins> entries_{};
  std::array<bool, kPins> asserted_{};
};

// One IoApic pin as an Interrupt line for a device model (the UART, the i8042).
class IoApicLine : public Interrupt {
 public:
  IoApicLine(IoApic& ioapic, uint32_t pin) : ioapic_(ioapic), pin_(pin) {}
  void SetLevel(bool high) override { ioapic_.SetPinLevel(pin_, high); }
  void Trigger() override { ioapic_.PulsePin(pin_); }

 private:
  IoApic& ioapic_;
  uint32_t pin_;
};

}  // namespace hull::vmm::devices
