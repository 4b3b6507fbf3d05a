#include "vmm/kvm/kvm_system.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <memory>

#include "vmm/kvm/ioctls.h"
#include "vmm/kvm/vm_fd.h"

namespace hull::vmm::kvm {

const std::vector<Capability>& RequiredCapabilities() {
  static const std::vector<Capability> kCapabilities = {
      {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
      {KVM_CAP_HLT, "KVM_CAP_HLT"},
      {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
      {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
      {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
      {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
      {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
      {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
      {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
      {KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2"},
      {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
      {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
      {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
      {KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP"},
      {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
  };
  return kCapabilities;
}

Result<void> CheckCapabilities(const std::vector<Capability>& required,
                               const std::function<int(int)>& query) {
  std::string missing;
  for (const Capability& cap : required) {
    if (query(cap.id) <= 0) {
      if (!missing.empty()) missing += ", ";
      missing += cap.name;
    }
  }
  if (!missing.empty()) return Fail("KVM lacks required capabilities: " + missing);
  return {};
}

Result<KvmSystem> KvmSystem::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return FailErrno("open " + Quote(path));
  KvmSystem system{linux::UniqueFd(fd)};
  int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  if (version < 0) return FailErrno(Quote(path) + ": KVM_GET_API_VERSION");
  if (version != kApiVersion) {
    return Fail(Quote(path) + ": KVM API version " + std::to_string(version) + ", need " +
                std::to_string(kApiVersion));
  }
  TRY_CTX(CheckCapabilities(RequiredCapabilities(),
                            [&system](int cap) { return system.CheckExtension(cap); }),
          Quote(path));
  return system;
}

int KvmSystem::CheckExtension(int capability) const {
  return ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
}

Result<size_t> KvmSystem::VcpuMmapSize() const {
  int size = ::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < 0) return FailErrno("KVM_GET_VCPU_MMAP_SIZE");
  if (static_cast<size_t>(size) < sizeof(kvm_run)) return Fail("KVM_GET_VCPU_MMAP_SIZE too small");
  return static_cast<size_t>(size);
}

Result<std::vector<kvm_cpuid_entry2>> KvmSystem::SupportedCpuid() const {
  // The kernel reports E2BIG when the buffer is too small; grow until it fits.
  for (uint32_t capacity = 128; capacity <= 4096; capacity *= 2) {
    size_t bytes = sizeof(ioctls::Cpuid2Header) + capacity * sizeof(kvm_cpuid_entry2);
    auto buffer = std::make_unique<uint64_t[]>((bytes + 7) / 8);
    auto* cpuid = reinterpret_cast<ioctls::Cpuid2Header*>(buffer.get());
    cpuid->nent = capacity;
    if (::ioctl(fd_.get(), ioctls::kGetSupportedCpuid, cpuid) == 0) {
      auto* entries = reinterpret_cast<kvm_cpuid_entry2*>(cpuid + 1);
      return std::vector<kvm_cpuid_entry2>(entries, entries + std::min(cpuid->nent, capacity));
    }
    if (errno != E2BIG) return FailErrno("KVM_GET_SUPPORTED_CPUID");
  }
  return Fail("KVM_GET_SUPPORTED_CPUID: too many entries");
}

Result<std::vector<uint32_t>> KvmSystem::MsrIndexList() const {
  for (uint32_t capacity = 256; capacity <= 16384; capacity *= 2) {
    auto buffer = std::make_unique<uint32_t[]>(1 + capacity);
    auto* list = reinterpret_cast<ioctls::MsrListHeader*>(buffer.get());
    list->nmsrs = capacity;
    if (::ioctl(fd_.get(), ioctls::kGetMsrIndexList, list) == 0) {
      return std::vector<uint32_t>(buffer.get() + 1, buffer.get() + 1 + std::min(list->nmsrs, capacity));
    }
    if (errno != E2BIG) return FailErrno("KVM_GET_MSR_INDEX_LIST");
  }
  return Fail("KVM_GET_MSR_INDEX_LIST: too many entries");
}

Result<VmFd> KvmSystem::CreateVm() const {
  int fd;
  do {
    fd = ::ioctl(fd_.get(), KVM_CREATE_VM, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return FailErrno("KVM_CREATE_VM");
  linux::UniqueFd vm(fd);
  size_t vcpu_mmap_size = TRY(VcpuMmapSize());
  return VmFd(std::move(vm), vcpu_mmap_size);
}

}  // namespace hull::vmm::kvm
