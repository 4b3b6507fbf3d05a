#include "vmm/kvm/vcpu_fd.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <memory>
#include <utility>

#include "vmm/kvm/ioctls.h"

namespace hull::vmm::kvm {
namespace {

template <typename T>
Result<T> GetStruct(int fd, unsigned long request, const char* name) {
  T value{};
  if (::ioctl(fd, request, &value) < 0) return FailErrno(name);
  return value;
}

Result<void> SetStruct(int fd, unsigned long request, const void* value, const char* name) {
  if (::ioctl(fd, request, value) < 0) return FailErrno(name);
  return {};
}

}  // namespace

Result<VcpuFd> VcpuFd::Map(linux::UniqueFd fd, uint32_t id, size_t mmap_size) {
  void* run = ::mmap(nullptr, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (run == MAP_FAILED) return FailErrno("mmap kvm_run");
  return VcpuFd(std::move(fd), id, static_cast<kvm_run*>(run), mmap_size);
}

VcpuFd::~VcpuFd() { Unmap(); }

void VcpuFd::Unmap() {
  if (run_ != nullptr) ::munmap(run_, mmap_size_);
  run_ = nullptr;
}

VcpuFd::VcpuFd(VcpuFd&& other) noexcept
    : fd_(std::move(other.fd_)),
      id_(other.id_),
      run_(std::exchange(other.run_, nullptr)),
      mmap_size_(other.mmap_size_) {}

VcpuFd& VcpuFd::operator=(VcpuFd&& other) noexcept {
  if (this != &other) {
    Unmap();
    fd_ = std::move(other.fd_);
    id_ = other.id_;
    run_ = std::exchange(other.run_, nullptr);
    mmap_size_ = other.mmap_size_;
  }
  return *this;
}

void VcpuFd::RequestImmediateExit(bool value) {
  __atomic_store_n(&run_->immediate_exit, value ? 1 : 0, __ATOMIC_SEQ_CST);
}

Result<VcpuExit> VcpuFd::Run() {
  if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
    if (errno == EINTR || errno == EAGAIN) return InterruptedExit{};
    return FailErrno("KVM_RUN");
  }
  auto* base = reinterpret_cast<uint8_t*>(run_);
  switch (run_->exit_reason) {
    case KVM_EXIT_IO: {
      size_t bytes = static_cast<size_t>(run_->io.size) * run_->io.count;
      if (run_->io.data_offset + bytes > mmap_size_) return Fail("KVM_EXIT_IO: data out of range");
      return IoExit{run_->io.port, run_->io.size, run_->io.direction == KVM_EXIT_IO_IN,
                    run_->io.count, std::span<uint8_t>(base + run_->io.data_offset, bytes)};
    }
    case KVM_EXIT_MMIO: {
      uint32_t length = std::min<uint32_t>(run_->mmio.len, sizeof(run_->mmio.data));
      return MmioExit{run_->mmio.phys_addr, length, run_->mmio.is_write != 0,
                      std::span<uint8_t>(run_->mmio.data, length)};
    }
    case KVM_EXIT_HLT:
      return HltExit{};
    case KVM_EXIT_SHUTDOWN:
      return ShutdownExit{};
    case KVM_EXIT_SYSTEM_EVENT:
      return SystemEventExit{run_->system_event.type};
    case KVM_EXIT_INTERNAL_ERROR: {
      InternalErrorExit exit{run_->internal.suberror, {}};
      uint32_t n = std::min<uint32_t>(run_->internal.ndata, 16);
      exit.data.assign(run_->internal.data, run_->internal.data + n);
      return exit;
    }
    case KVM_EXIT_FAIL_ENTRY:
      return FailEntryExit{run_->fail_entry.hardware_entry_failure_reason, run_->fail_entry.cpu};
    case KVM_EXIT_IOAPIC_EOI:
      return IoApicEoiExit{run_->eoi.vector};
    case KVM_EXIT_INTR:
      return InterruptedExit{};
    default:
      return UnknownExit{run_->exit_reason};
  }
}

Result<kvm_regs> VcpuFd::GetRegs() const {
  return GetStruct<kvm_regs>(fd_.get(), KVM_GET_REGS, "KVM_GET_REGS");
}
Result<void> VcpuFd::SetRegs(const kvm_regs& regs) {
  return SetStruct(fd_.get(), KVM_SET_REGS, &regs, "KVM_SET_REGS");
}
Result<kvm_sregs> VcpuFd::GetSregs() const {
  return GetStruct<kvm_sregs>(fd_.get(), KVM_GET_SREGS, "KVM_GET_SREGS");
}
Result<void> VcpuFd::SetSregs(const kvm_sregs& sregs) {
  return SetStruct(fd_.get(), KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
}
Result<kvm_fpu> VcpuFd::GetFpu() const {
  return GetStruct<kvm_fpu>(fd_.get(), KVM_GET_FPU, "KVM_GET_FPU");
}
Result<void> VcpuFd::SetFpu(const kvm_fpu& fpu) {
  return SetStruct(fd_.get(), KVM_SET_FPU, &fpu, "KVM_SET_FPU");
}
Result<kvm_lapic_state> VcpuFd::GetLapic() const {
  return GetStruct<kvm_lapic_state>(fd_.get(), KVM_GET_LAPIC, "KVM_GET_LAPIC");
}
Result<void> VcpuFd::SetLapic(const kvm_lapic_state& lapic) {
  return SetStruct(fd_.get(), KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC");
}

Result<void> VcpuFd::SetCpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  size_t bytes = sizeof(ioctls::Cpuid2Header) + entries.size() * sizeof(kvm_cpuid_entry2);
  auto buffer = std::make_unique<uint64_t[]>((bytes + 7) / 8);
  auto* cpuid = reinterpret_cast<ioctls::Cpuid2Header*>(buffer.get());
  cpuid->nent = static_cast<uint32_t>(entries.size());
  cpuid->padding = 0;
  std::copy(entries.begin(), entries.end(), reinterpret_cast<kvm_cpuid_entry2*>(cpuid + 1));
  return SetStruct(fd_.get(), ioctls::kSetCpuid2, cpuid, "KVM_SET_CPUID2");
}

Result<void> VcpuFd::SetMsrs(const std::vector<kvm_msr_entry>& entries) {
  size_t bytes = sizeof(ioctls::MsrsHeader) + entries.size() * sizeof(kvm_msr_entry);
  auto buffer = std::make_unique<uint64_t[]>((bytes + 7) / 8);
  auto* msrs = reinterpret_cast<ioctls::MsrsHeader*>(buffer.get());
  msrs->nmsrs = static_cast<uint32_t>(entries.size());
  msrs->pad = 0;
  std::copy(entries.begin(), entries.end(), reinterpret_cast<kvm_msr_entry*>(msrs + 1));
  int set = ::ioctl(fd_.get(), ioctls::kSetMsrs, msrs);
  if (set < 0) return FailErrno("KVM_SET_MSRS");
  if (static_cast<size_t>(set) != entries.size()) {
    char index[16];
    snprintf(index, sizeof(index), "%#x", entries[set].index);
    return Fail(std::string("KVM_SET_MSRS: MSR ") + index + " rejected");
  }
  return {};
}

Result<std::vector<kvm_msr_entry>> VcpuFd::GetMsrs(const std::vector<uint32_t>& indices) const {
  size_t bytes = sizeof(ioctls::MsrsHeader) + indices.size() * sizeof(kvm_msr_entry);
  auto buffer = std::make_unique<uint64_t[]>((bytes + 7) / 8);
  auto* msrs = reinterpret_cast<ioctls::MsrsHeader*>(buffer.get());
  auto* out = reinterpret_cast<kvm_msr_entry*>(msrs + 1);
  msrs->nmsrs = static_cast<uint32_t>(indices.size());
  msrs->pad = 0;
  for (size_t i = 0; i < indices.size(); ++i) out[i] = kvm_msr_entry{indices[i], 0, 0};
  int got = ::ioctl(fd_.get(), ioctls::kGetMsrs, msrs);
  if (got < 0) return FailErrno("KVM_GET_MSRS");
  return std::vector<kvm_msr_entry>(out, out + got);
}

uint32_t VcpuFd::TscKhz() const {
  int khz = ::ioctl(fd_.get(), KVM_GET_TSC_KHZ, 0);
  return khz > 0 ? static_cast<uint32_t>(khz) : 0;
}

Result<void> VcpuFd::SetMpState(uint32_t state) {
  kvm_mp_state mp{state};
  return SetStruct(fd_.get(), KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE");
}

}  // namespace hull::vmm::kvm
