// Interrupt: one interrupt line as a device model sees it. Device models raise interrupts only
// through this interface, never through KVM, so they can be tested with a fake.
//
// Thread-safety: implementations must accept calls from any thread (vCPU threads and the event
// loop) concurrently.
#pragma once

namespace hull::vmm::devices {

class Interrupt {
 public:
  virtual ~Interrupt() = default;
  // Drives the line to `high`. Devices that model a level (the 8250's INTR output) call this on
  // every change of their level.
  virtual void SetLevel(bool high) = 0;
  // An edge: high then low.
  virtual void Trigger() {
    SetLevel(true);
    SetLevel(false);
  }
};

}  // namespace hull::vmm::devices
