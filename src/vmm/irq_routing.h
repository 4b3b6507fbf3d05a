// KvmMsiRouting: the user-space IOAPIC's MsiController over KVM (split irqchip). Keeps KVM's GSI
// routing table equal to the IOAPIC's unmasked pins (GSI n = pin n, an MSI route each), and
// delivers user-space interrupts with KVM_SIGNAL_MSI.
//
// Thread-safety: SignalMsi may be called from any thread. SetRoute calls must not overlap: the
// IoApic makes them with its own mutex held.
#pragma once

#include <array>
#include <optional>

#include "vmm/devices/ioapic.h"
#include "vmm/kvm/vm_fd.h"

namespace hull::vmm {

class KvmMsiRouting : public devices::MsiController {
 public:
  // `vm` must outlive this object.
  explicit KvmMsiRouting(kvm::VmFd& vm) : vm_(vm) {}

  void SignalMsi(const devices::MsiMessage& message) override;
  // Issues KVM_SET_GSI_ROUTING only when the table changes.
  void SetRoute(uint32_t pin, std::optional<devices::MsiMessage> message) override;

 private:
  kvm::VmFd& vm_;
  std::array<std::optional<devices::MsiMessage>, devices::IoApic::kPins> routes_{};
};

}  // namespace hull::vmm
