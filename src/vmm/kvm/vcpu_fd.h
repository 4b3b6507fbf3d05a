// VcpuFd: owner of one KVM vCPU fd and its mapped kvm_run area; Run() returns a typed exit.
//
// Thread-safety: one thread at a time. Once a vCPU has run, keep it on that thread: KVM ties it
// to the thread of its KVM_RUN, and moving it costs an RCU grace period (set-up ioctls on
// another thread before the first KVM_RUN cost nothing). Only RequestImmediateExit() may be
// called from elsewhere (it writes one byte of kvm_run, as api.rst allows, and must be followed
// by a signal to kick the vCPU out of KVM_RUN).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::vmm::kvm {

// Port I/O. For `in`, the handler fills `data`; for out, `data` holds what the guest wrote.
// `data` points into kvm_run and holds `count` items of `size` bytes (count > 1 for rep ins/outs).
struct IoExit {
  uint16_t port;
  uint8_t size;
  bool in;
  uint32_t count;
  std::span<uint8_t> data;
};
// Memory-mapped I/O outside guest RAM. For reads, the handler fills `data`.
struct MmioExit {
  uint64_t address;
  uint32_t length;
  bool write;
  std::span<uint8_t> data;
};
struct HltExit {};
// The guest triple-faulted (or otherwise shut down the CPU).
struct ShutdownExit {};
// KVM_SYSTEM_EVENT_* (shutdown, reset, crash).
struct SystemEventExit {
  uint32_t type;
};
struct InternalErrorExit {
  uint32_t suberror;
  std::vector<uint64_t> data;
};
struct FailEntryExit {
  uint64_t hardware_reason;
  uint32_t cpu;
};
// With a split irqchip: the guest ended a level-triggered interrupt routed from the user-space
// IOAPIC (KVM_EXIT_IOAPIC_EOI).
struct IoApicEoiExit {
  uint8_t vector;
};
// KVM_RUN returned EINTR, or immediate_exit was set: someone asked this vCPU to stop.
struct InterruptedExit {};
// Any other exit reason (not expected with the capabilities hull-vmm uses).
struct UnknownExit {
  uint32_t reason;
};

using VcpuExit = std::variant<IoExit, MmioExit, HltExit, ShutdownExit, SystemEventExit,
                              InternalErrorExit, FailEntryExit, IoApicEoiExit, InterruptedExit,
                              UnknownExit>;

class VcpuFd {
 public:
  // Takes ownership of `fd` and maps its kvm_run area of `mmap_size` bytes.
  [[nodiscard]] static Result<VcpuFd> Map(linux::UniqueFd fd, uint32_t id, size_t mmap_size);
  ~VcpuFd();
  VcpuFd(VcpuFd&& other) noexcept;
  VcpuFd& operator=(VcpuFd&& other) noexcept;
  VcpuFd(const VcpuFd&) = delete;
  VcpuFd& operator=(const VcpuFd&) = delete;

  uint32_t id() const { return id_; }
  int fd() const { return fd_.get(); }  // remains owned by this object

  // Runs the vCPU until the next exit. The spans in the returned exit stay valid until the next
  // Run() call; data written into them for `in`/MMIO reads is delivered to the guest then.
  [[nodiscard]] Result<VcpuExit> Run();
  // Makes the next or current KVM_RUN return at once (with a signal to kick a running vCPU).
  void RequestImmediateExit(bool value);

  [[nodiscard]] Result<kvm_regs> GetRegs() const;
  [[nodiscard]] Result<void> SetRegs(const kvm_regs& regs);
  [[nodiscard]] Result<kvm_sregs> GetSregs() const;
  [[nodiscard]] Result<void> SetSregs(const kvm_sregs& sregs);
  [[nodiscard]] Result<kvm_fpu> GetFpu() const;
  [[nodiscard]] Result<void> SetFpu(const kvm_fpu& fpu);
  [[nodiscard]] Result<kvm_lapic_state> GetLapic() const;
  [[nodiscard]] Result<void> SetLapic(const kvm_lapic_state& lapic);
  [[nodiscard]] Result<void> SetCpuid(const std::vector<kvm_cpuid_entry2>& entries);
  // KVM_SET_MSRS: fails unless KVM accepted every entry.
  [[nodiscard]] Result<void> SetMsrs(const std::vector<kvm_msr_entry>& entries);
  [[nodiscard]] Result<std::vector<kvm_msr_entry>> GetMsrs(const std::vector<uint32_t>& indices) const;
  // KVM_GET_TSC_KHZ; 0 when the host does not say.
  uint32_t TscKhz() const;
  [[nodiscard]] Result<void> SetMpState(uint32_t state);

 private:
  VcpuFd(linux::UniqueFd fd, uint32_t id, kvm_run* run, size_t mmap_size)
      : fd_(std::move(fd)), id_(id), run_(run), mmap_size_(mmap_size) {}
  void Unmap();

  linux::UniqueFd fd_;
  uint32_t id_ = 0;
  kvm_run* run_ = nullptr;  // owned mapping of mmap_size_ bytes
  size_t mmap_size_ = 0;
};

}  // namespace hull::vmm::kvm
