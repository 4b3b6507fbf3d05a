// KvmSystem: owner of the /dev/kvm system fd, and the capability check every VM depends on.
//
// Thread-safety: immutable after Open(); the query methods may be called from any thread.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"

namespace hull::vmm::kvm {

class VmFd;

// One KVM capability the monitor relies on, with the name users see when it is missing.
struct Capability {
  int id;
  const char* name;
};

// Every capability hull-vmm needs; a missing one makes Open() fail naming it.
const std::vector<Capability>& RequiredCapabilities();

// Checks `required` with `query` (returns KVM_CHECK_EXTENSION's value, <= 0 meaning absent).
// Separate from the ioctl so that the error reporting can be tested without /dev/kvm.
[[nodiscard]] Result<void> CheckCapabilities(const std::vector<Capability>& required,
                                             const std::function<int(int)>& query);

class KvmSystem {
 public:
  static constexpr int kApiVersion = 12;

  // Opens `path` (normally /dev/kvm) O_CLOEXEC, checks the API version and every required
  // capability.
  [[nodiscard]] static Result<KvmSystem> Open(const std::string& path = "/dev/kvm");

  KvmSystem(KvmSystem&&) = default;
  KvmSystem& operator=(KvmSystem&&) = default;

  // KVM_CHECK_EXTENSION on the system fd; <= 0 means absent.
  int CheckExtension(int capability) const;
  // Size of the per-vCPU kvm_run mapping.
  [[nodiscard]] Result<size_t> VcpuMmapSize() const;
  // KVM_GET_SUPPORTED_CPUID: the CPUID leaves this host's KVM can expose.
  [[nodiscard]] Result<std::vector<kvm_cpuid_entry2>> SupportedCpuid() const;
  // KVM_GET_MSR_INDEX_LIST.
  [[nodiscard]] Result<std::vector<uint32_t>> MsrIndexList() const;
  // Creates a VM (KVM_CREATE_VM, type 0). The returned VmFd owns the new fd.
  [[nodiscard]] Result<VmFd> CreateVm() const;

  int fd() const { return fd_.get(); }  // remains owned by this object

 private:
  explicit KvmSystem(linux::UniqueFd fd) : fd_(std::move(fd)) {}
  linux::UniqueFd fd_;
};

}  // namespace hull::vmm::kvm
