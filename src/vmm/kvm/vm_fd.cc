#include "vmm/kvm/vm_fd.h"

#include <sys/ioctl.h>

#include <cstring>
#include <vector>

#include "vmm/kvm/ioctls.h"

#include "vmm/kvm/vcpu_fd.h"

namespace hull::vmm::kvm {

Result<void> VmFd::Ioctl(unsigned long request, const void* argument, const char* name) {
  int rc;
  do {
    rc = ::ioctl(fd_.get(), request, argument);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return FailErrno(name);
  return {};
}

Result<void> VmFd::SetUserMemoryRegion(uint32_t slot, uint64_t guest_address, uint64_t size,
                                       void* host_address, uint32_t flags) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.flags = flags;
  region.guest_phys_addr = guest_address;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host_address);
  return Ioctl(KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");
}

Result<void> VmFd::SetTssAddress(uint64_t address) {
  if (::ioctl(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(address)) < 0)
    return FailErrno("KVM_SET_TSS_ADDR");
  return {};
}

Result<void> VmFd::SetIdentityMapAddress(uint64_t address) {
  return Ioctl(KVM_SET_IDENTITY_MAP_ADDR, &address, "KVM_SET_IDENTITY_MAP_ADDR");
}

Result<void> VmFd::CreateIrqChip() {
  if (::ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) return FailErrno("KVM_CREATE_IRQCHIP");
  return {};
}

Result<void> VmFd::EnableSplitIrqChip(uint32_t ioapic_pins) {
  kvm_enable_cap cap{};
  cap.cap = KVM_CAP_SPLIT_IRQCHIP;
  cap.args[0] = ioapic_pins;
  return Ioctl(KVM_ENABLE_CAP, &cap, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)");
}

Result<void> VmFd::SetGsiRouting(std::span<const kvm_irq_routing_entry> entries) {
  std::vector<uint8_t> buffer(sizeof(ioctls::IrqRoutingHeader) +
                              entries.size() * sizeof(kvm_irq_routing_entry));
  ioctls::IrqRoutingHeader header{static_cast<uint32_t>(entries.size()), 0};
  std::memcpy(buffer.data(), &header, sizeof(header));
  if (!entries.empty())
    std::memcpy(buffer.data() + sizeof(header), entries.data(), entries.size_bytes());
  return Ioctl(ioctls::kSetGsiRouting, buffer.data(), "KVM_SET_GSI_ROUTING");
}

Result<void> VmFd::SignalMsi(uint64_t address, uint32_t data) {
  kvm_msi msi{};
  msi.address_lo = static_cast<uint32_t>(address);
  msi.address_hi = static_cast<uint32_t>(address >> 32);
  msi.data = data;
  // Returns the number of LAPICs that accepted it (0 when none matched: not an error).
  return Ioctl(KVM_SIGNAL_MSI, &msi, "KVM_SIGNAL_MSI");
}

Result<void> VmFd::CreatePit2() {
  kvm_pit_config config{};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  return Ioctl(KVM_CREATE_PIT2, &config, "KVM_CREATE_PIT2");
}

Result<void> VmFd::SetIrqLine(uint32_t irq, bool level) {
  kvm_irq_level line{};
  line.irq = irq;
  line.level = level ? 1 : 0;
  return Ioctl(KVM_IRQ_LINE, &line, "KVM_IRQ_LINE");
}

namespace {
kvm_ioeventfd IoEvent(int event_fd, uint64_t address, uint32_t length,
                      std::optional<uint64_t> datamatch, bool pio) {
  kvm_ioeventfd io{};
  io.addr = address;
  io.len = length;
  io.fd = event_fd;
  io.flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0;
  if (datamatch) {
    io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    io.datamatch = *datamatch;
  }
  return io;
}
}  // namespace

Result<void> VmFd::RegisterIoEvent(int event_fd, uint64_t address, uint32_t length,
                                   std::optional<uint64_t> datamatch, bool pio) {
  kvm_ioeventfd io = IoEvent(event_fd, address, length, datamatch, pio);
  return Ioctl(KVM_IOEVENTFD, &io, "KVM_IOEVENTFD");
}

Result<void> VmFd::UnregisterIoEvent(int event_fd, uint64_t address, uint32_t length,
                                     std::optional<uint64_t> datamatch, bool pio) {
  kvm_ioeventfd io = IoEvent(event_fd, address, length, datamatch, pio);
  io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
  return Ioctl(KVM_IOEVENTFD, &io, "KVM_IOEVENTFD deassign");
}

Result<void> VmFd::RegisterIrqFd(int event_fd, uint32_t gsi) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(event_fd);
  irqfd.gsi = gsi;
  return Ioctl(KVM_IRQFD, &irqfd, "KVM_IRQFD");
}

Result<void> VmFd::UnregisterIrqFd(int event_fd, uint32_t gsi) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(event_fd);
  irqfd.gsi = gsi;
  irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
  return Ioctl(KVM_IRQFD, &irqfd, "KVM_IRQFD deassign");
}

Result<VcpuFd> VmFd::CreateVcpu(uint32_t vcpu_id) const {
  int fd = ::ioctl(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(vcpu_id));
  if (fd < 0) return FailErrno("KVM_CREATE_VCPU " + std::to_string(vcpu_id));
  return TRY_CTX(VcpuFd::Map(linux::UniqueFd(fd), vcpu_id, vcpu_mmap_size_),
                 "vCPU " + std::to_string(vcpu_id));
}

}  // namespace hull::vmm::kvm
