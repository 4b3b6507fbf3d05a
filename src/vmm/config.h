// VmConfig: what one hull-vmm process runs, from flags or a JSON file, and its validation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "vmm/arch/x86_64/kernel_loader.h"

namespace hull::vmm {

inline constexpr uint32_t kMaxVcpus = 254;  // APIC ids stay below the xAPIC broadcast id
inline constexpr uint64_t kMinMemoryMib = 4;
inline constexpr uint64_t kMaxMemoryMib = 1ULL << 20;  // 1 TiB

// The range checks every source of a setting shares (flags, the config file, the API). Errors
// start with `field`, the setting's name in that source ("cpus", "machine.cpus", "vcpu_count").
// 1..kMaxVcpus.
[[nodiscard]] Result<void> CheckVcpuCount(uint64_t cpus, std::string_view field);
// kMinMemoryMib..kMaxMemoryMib, and a multiple of 2 MiB with `hugepages`.
[[nodiscard]] Result<void> CheckMemoryMib(uint64_t mib, bool hugepages, std::string_view field);
// virtio::Vsock::kMinGuestCid..kMaxGuestCid (not a reserved CID).
[[nodiscard]] Result<void> CheckGuestCid(uint64_t cid, std::string_view field);

struct ConsoleConfig {
  enum class Kind { kNone, kStdio, kFile, kSocket };
  Kind kind = Kind::kStdio;
  std::string path;  // kFile: output file; kSocket: unix socket to listen on
};

// Parses "none", "stdio", "file:PATH" or "socket:PATH".
[[nodiscard]] Result<ConsoleConfig> ParseConsole(std::string_view text);

// Sanitizer runtimes make system calls the allow-list does not need (and must not allow in
// production); sanitized builds log violations instead of dying on them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr const char* kDefaultSeccomp = "log";
#else
inline constexpr const char* kDefaultSeccomp = "on";
#endif

struct DiskConfig {
  std::string path;
  bool read_only = false;
  // The serial the guest reads (VIRTIO_BLK_T_GET_ID; /sys/block/vdX/serial in Linux): printable
  // ASCII, at most virtio::Block::kIdLength (20) bytes. Empty: "hull-<device>-<inode>" of the
  // image file, cut to 20 bytes.
  std::string id;
};

// Checks a disk id; errors start with `field`.
[[nodiscard]] Result<void> ValidateDiskId(std::string_view id, std::string_view field);
// Parses "PATH[,readonly][,id=NAME]".
[[nodiscard]] Result<DiskConfig> ParseDisk(std::string_view text);

struct NetConfig {
  std::string tap;  // interface name; created if it does not exist
  std::string mac;  // "aa:bb:cc:dd:ee:ff"; empty: random, locally administered
};

// Parses "tap=NAME[,mac=MAC]".
[[nodiscard]] Result<NetConfig> ParseNet(std::string_view text);

// Interface names hold at most IFNAMSIZ - 1 bytes.
inline constexpr size_t kMaxTapNameBytes = 15;
// Checks a tap name as the kernel would (length, no '/', ':' or white space, not "." or "..");
// errors quote the name.
[[nodiscard]] Result<void> ValidateTapName(std::string_view name);

struct VsockConfig {
  uint64_t guest_cid = 0;
  std::string uds_path;  // host side: see devices/virtio/vsock.h
};

// Parses "cid=N,uds=PATH".
[[nodiscard]] Result<VsockConfig> ParseVsock(std::string_view text);

// virtio-mmio devices get GSIs from 5 up to the IOAPIC's last pin, 23.
inline constexpr size_t kMaxVirtioDevices = 19;
inline constexpr size_t kMaxVirtioDevicesWithoutAcpi = 11;  // GSIs 5..15, on the legacy PIC

struct VmConfig {
  x86_64::BootSource boot;
  uint32_t cpus = 1;
  uint64_t memory_mib = 128;
  bool hugepages = false;
  bool memfd = false;
  ConsoleConfig console;
  std::vector<DiskConfig> disks;
  std::vector<NetConfig> nets;
  std::optional<VsockConfig> vsock;
  bool rng = false;
  // ACPI tables (needed by stock kernels for SMP and virtio discovery). Without them, virtio
  // devices are announced on the command line and must use legacy IRQs (at most 15).
  bool acpi = true;
  // The seccomp allow-list over all VMM threads once the VM runs: "on" (kill on violation),
  // "log" (allow and log), "off".
  std::string seccomp = kDefaultSeccomp;
};

// Checks ranges and required fields; errors name the setting.
[[nodiscard]] Result<void> ValidateConfig(const VmConfig& config);

// Parses a JSON config file's contents:
//   {"boot": {"kernel": PATH, "initrd": PATH, "cmdline": STR},
//    "machine": {"cpus": N, "memory_mib": N, "hugepages": BOOL, "memfd": BOOL, "acpi": BOOL},
//    "console": "stdio" | "file:PATH" | "socket:PATH" | "none",
//    "drives": [{"path": PATH, "readonly": BOOL, "id": STR}, ...],
//    "network_interfaces": [{"tap": NAME, "mac": MAC}, ...],
//    "vsock": {"guest_cid": N, "uds_path": PATH}, "rng": BOOL}
// Every field is optional here (flags may supply them); unknown fields are errors naming them.
[[nodiscard]] Result<VmConfig> ParseConfigJson(std::string_view json, VmConfig defaults = {});

}  // namespace hull::vmm
