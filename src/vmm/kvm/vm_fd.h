// VmFd: owner of one KVM VM fd (KVM_CREATE_VM), with the VM-wide ioctls.
//
// Thread-safety: the methods are thin ioctls; KVM serialises them itself, so they may be called
// from any thread (IrqLine is called from vCPU and device threads concurrently). Memory regions
// and devices are set up before vCPUs run.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <optional>
#include <span>

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::vmm::kvm {

class VcpuFd;

class VmFd {
 public:
  // Takes ownership of `fd`. `vcpu_mmap_size` is KVM_GET_VCPU_MMAP_SIZE.
  VmFd(linux::UniqueFd fd, size_t vcpu_mmap_size)
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}
  VmFd(VmFd&&) = default;
  VmFd& operator=(VmFd&&) = default;

  // KVM_SET_USER_MEMORY_REGION: maps `size` bytes of host memory at `host_address` (which stays
  // owned by the caller and must outlive the VM) at guest physical `guest_address`.
  [[nodiscard]] Result<void> SetUserMemoryRegion(uint32_t slot, uint64_t guest_address,
                                                 uint64_t size, void* host_address,
                                                 uint32_t flags = 0);
  // KVM_SET_TSS_ADDR: three pages the VM needs on Intel hosts; must not overlap RAM or MMIO.
  [[nodiscard]] Result<void> SetTssAddress(uint64_t address);
  // KVM_SET_IDENTITY_MAP_ADDR: one page, likewise.
  [[nodiscard]] Result<void> SetIdentityMapAddress(uint64_t address);
  // KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and per-vCPU LAPICs. Call before creating vCPUs.
  [[nodiscard]] Result<void> CreateIrqChip();
  // KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): LAPICs in the kernel, the IOAPIC in user space with
  // `ioapic_pins` GSIs reserved for it; no PIC, no PIT. Instead of CreateIrqChip(), before vCPUs.
  [[nodiscard]] Result<void> EnableSplitIrqChip(uint32_t ioapic_pins);
  // KVM_SET_GSI_ROUTING: replaces the whole GSI routing table.
  [[nodiscard]] Result<void> SetGsiRouting(std::span<const kvm_irq_routing_entry> entries);
  // KVM_SIGNAL_MSI: delivers one MSI message to the LAPICs.
  [[nodiscard]] Result<void> SignalMsi(uint64_t address, uint32_t data);
  // KVM_CREATE_PIT2 with the speaker port dummy flag.
  [[nodiscard]] Result<void> CreatePit2();
  // KVM_IRQ_LINE: sets GSI `irq` to `level` on the in-kernel irqchip.
  [[nodiscard]] Result<void> SetIrqLine(uint32_t irq, bool level);
  // KVM_IOEVENTFD: KVM signals `event_fd` (owned by the caller) on a guest write of `length`
  // bytes to `address` (MMIO, or a port when `pio`), instead of exiting to user space. With
  // `datamatch`, only writes of that value do.
  [[nodiscard]] Result<void> RegisterIoEvent(int event_fd, uint64_t address, uint32_t length,
                                             std::optional<uint64_t> datamatch = std::nullopt,
                                             bool pio = false);
  [[nodiscard]] Result<void> UnregisterIoEvent(int event_fd, uint64_t address, uint32_t length,
                                               std::optional<uint64_t> datamatch = std::nullopt,
                                               bool pio = false);
  // KVM_IRQFD: a write to `event_fd` (owned by the caller) raises `gsi` edge-style.
  [[nodiscard]] Result<void> RegisterIrqFd(int event_fd, uint32_t gsi);
  [[nodiscard]] Result<void> UnregisterIrqFd(int event_fd, uint32_t gsi);
  // KVM_CREATE_VCPU with the given APIC id; maps its kvm_run.
  [[nodiscard]] Result<VcpuFd> CreateVcpu(uint32_t vcpu_id) const;

  int fd() const { return fd_.get(); }  // remains owned by this object

 private:
  [[nodiscard]] Result<void> Ioctl(unsigned long request, const void* argument, const char* name);

  linux::UniqueFd fd_;
  size_t vcpu_mmap_size_ = 0;
};

}  // namespace hull::vmm::kvm
