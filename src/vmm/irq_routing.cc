#include "vmm/irq_routing.h"

#include <vector>

#include "base/log.h"

namespace hull::vmm {

void KvmMsiRouting::SignalMsi(const devices::MsiMessage& message) {
  if (auto r = vm_.SignalMsi(message.address, message.data); !r)
    log::Warning("IOAPIC interrupt: " + r.error().ToString());
}

void KvmMsiRouting::SetRoute(uint32_t pin, std::optional<devices::MsiMessage> message) {
  if (pin >= routes_.size() || routes_[pin] == message) return;
  // The table KVM gets: the current routes with this pin's new one. Kept only once KVM took
  // it, so that a refused update is tried again by the next identical call.
  auto next = routes_;
  next[pin] = message;
  std::vector<kvm_irq_routing_entry> entries;
  for (uint32_t gsi = 0; gsi < next.size(); ++gsi) {
    if (!next[gsi]) continue;
    kvm_irq_routing_entry entry{};
    entry.gsi = gsi;
    entry.type = KVM_IRQ_ROUTING_MSI;
    entry.u.msi.address_lo = static_cast<uint32_t>(next[gsi]->address);
    entry.u.msi.address_hi = static_cast<uint32_t>(next[gsi]->address >> 32);
    entry.u.msi.data = next[gsi]->data;
    entries.push_back(entry);
  }
  if (auto r = vm_.SetGsiRouting(entries); !r) {
    log::Warning("IOAPIC pin " + std::to_string(pin) + ": " + r.error().ToString());
    return;
  }
  routes_ = next;
}

}  // namespace hull::vmm
