#include "vmm/config.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/devices/virtio/vsock.h"
#include "vmm/seccomp_filter.h"

namespace hull::vmm {

Result<void> CheckVcpuCount(uint64_t cpus, std::string_view field) {
  if (cpus < 1 || cpus > kMaxVcpus) {
    return Fail(std::string(field) + ": " + std::to_string(cpus) + " is out of range 1.." +
                std::to_string(kMaxVcpus));
  }
  return {};
}

Result<void> CheckMemoryMib(uint64_t mib, bool hugepages, std::string_view field) {
  if (mib < kMinMemoryMib || mib > kMaxMemoryMib) {
    return Fail(std::string(field) + ": " + std::to_string(mib) + " MiB is out of range " +
                std::to_string(kMinMemoryMib) + ".." + std::to_string(kMaxMemoryMib) + " MiB");
  }
  if (hugepages && mib % 2 != 0) {
    return Fail(std::string(field) + ": " + std::to_string(mib) +
                " MiB is not a multiple of 2 MiB, as huge pages need");
  }
  return {};
}

Result<void> CheckGuestCid(uint64_t cid, std::string_view field) {
  using virtio::Vsock;
  if (cid < Vsock::kMinGuestCid || cid > Vsock::kMaxGuestCid) {
    return Fail(std::string(field) + ": " + std::to_string(cid) + " is out of range " +
                std::to_string(Vsock::kMinGuestCid) + ".." + std::to_string(Vsock::kMaxGuestCid));
  }
  return {};
}

Result<ConsoleConfig> ParseConsole(std::string_view text) {
  ConsoleConfig console;
  if (text == "none") {
    console.kind = ConsoleConfig::Kind::kNone;
  } else if (text == "stdio") {
    console.kind = ConsoleConfig::Kind::kStdio;
  } else if (text.starts_with("file:") && text.size() > 5) {
    console.kind = ConsoleConfig::Kind::kFile;
    console.path = text.substr(5);
  } else if (text.starts_with("socket:") && text.size() > 7) {
    console.kind = ConsoleConfig::Kind::kSocket;
    console.path = text.substr(7);
  } else {
    return Fail("console " + Quote(text) + ": expected stdio, none, file:PATH or socket:PATH");
  }
  return console;
}

Result<void> ValidateDiskId(std::string_view id, std::string_view field) {
  std::string where(field);
  if (id.empty()) return Fail(where + ": must not be empty");
  if (id.size() > virtio::Block::kIdLength) {
    return Fail(where + ": " + Quote(id) + " is " + std::to_string(id.size()) +
                " bytes long, more than the " + std::to_string(virtio::Block::kIdLength) +
                " a virtio-blk id holds");
  }
  for (char c : id) {
    if (c < 0x20 || c > 0x7e) return Fail(where + ": " + Quote(id) + " is not printable ASCII");
  }
  return {};
}

Result<DiskConfig> ParseDisk(std::string_view text) {
  DiskConfig disk;
  size_t comma = text.find(',');
  disk.path = std::string(text.substr(0, comma));
  if (disk.path.empty())
    return Fail("disk " + Quote(text) + ": expected PATH[,readonly][,id=NAME]");
  std::string_view options = comma == std::string_view::npos ? "" : text.substr(comma + 1);
  while (comma != std::string_view::npos) {
    comma = options.find(',');
    std::string_view option = options.substr(0, comma);
    if (comma != std::string_view::npos) options = options.substr(comma + 1);
    if (option == "readonly" || option == "ro") {
      disk.read_only = true;
    } else if (option.starts_with("id=")) {
      disk.id = option.substr(3);
      TRY(ValidateDiskId(disk.id, "disk " + Quote(text) + ": id"));
    } else {
      return Fail("disk " + Quote(text) + ": unknown option " + Quote(option));
    }
  }
  return disk;
}

Result<NetConfig> ParseNet(std::string_view text) {
  NetConfig net;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.starts_with("tap="))
      net.tap = item.substr(4);
    else if (item.starts_with("mac="))
      net.mac = item.substr(4);
    else
      return Fail("net " + Quote(item) + ": expected tap=NAME[,mac=MAC]");
  }
  if (net.tap.empty()) return Fail("net: tap=NAME is required");
  return net;
}

Result<void> ValidateTapName(std::string_view name) {
  if (name.empty()) return Fail("a tap name is required");
  if (name.size() > kMaxTapNameBytes) {
    return Fail(Quote(name) + " is longer than " + std::to_string(kMaxTapNameBytes) +
                " bytes (IFNAMSIZ - 1)");
  }
  if (name == "." || name == "..") return Fail(Quote(name) + " is not an interface name");
  for (char c : name) {
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)))
      return Fail(Quote(name) + ": an interface name has no '/', ':' or white space");
  }
  return {};
}

Result<VsockConfig> ParseVsock(std::string_view text) {
  VsockConfig vsock;
  bool have_cid = false;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.starts_with("cid=")) {
      auto cid = ParseUint(item.substr(4));
      if (!cid) return Fail("vsock: bad CID " + Quote(item.substr(4)));
      vsock.guest_cid = *cid;
      have_cid = true;
    } else if (item.starts_with("uds=")) {
      vsock.uds_path = item.substr(4);
    } else {
      return Fail("vsock " + Quote(item) + ": expected cid=N,uds=PATH");
    }
  }
  if (!have_cid || vsock.uds_path.empty()) return Fail("vsock: cid=N and uds=PATH are required");
  return vsock;
}

Result<void> ValidateConfig(const VmConfig& config) {
  if (config.boot.kernel_path.empty()) return Fail("kernel: a kernel image path is required");
  TRY(CheckVcpuCount(config.cpus, "cpus"));
  TRY(CheckMemoryMib(config.memory_mib, config.hugepages, "memory"));
  for (const NetConfig& net : config.nets) {
    TRY_CTX(ValidateTapName(net.tap), "network interface");
    if (!net.mac.empty()) TRY_CTX(virtio::ParseMac(net.mac), "network interface " + Quote(net.tap));
  }
  if (config.vsock) TRY(CheckGuestCid(config.vsock->guest_cid, "vsock: guest CID"));
  if (config.vsock && config.vsock->uds_path.empty()) return Fail("vsock: uds_path is required");
  if (config.disks.size() + config.nets.size() + (config.rng ? 1 : 0) + (config.vsock ? 1 : 0) >
      kMaxVirtioDevices)
    return Fail("too many virtio devices: at most " + std::to_string(kMaxVirtioDevices));
  for (size_t i = 0; i < config.disks.size(); ++i) {
    const DiskConfig& disk = config.disks[i];
    if (disk.path.empty()) return Fail("drives: a drive needs a path");
    if (!disk.id.empty()) TRY(ValidateDiskId(disk.id, "drives[" + std::to_string(i) + "].id"));
  }
  if (!config.acpi &&
      config.disks.size() + config.nets.size() + (config.rng ? 1 : 0) + (config.vsock ? 1 : 0) >
          kMaxVirtioDevicesWithoutAcpi)
    return Fail("without ACPI at most " + std::to_string(kMaxVirtioDevicesWithoutAcpi) +
                " virtio devices fit the legacy IRQs");
  TRY(ParseSeccompMode(config.seccomp));
  return {};
}

namespace {

using Json = nlohmann::json;

Result<void> RejectUnknown(const Json& object, std::string_view where,
                           std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (std::string_view k : known) found = found || k == key;
    if (!found) return Fail(std::string(where) + key + ": unknown field");
  }
  return {};
}

Result<std::string> GetString(const Json& object, const char* key, std::string_view where) {
  const Json& value = object.at(key);
  if (!value.is_string()) return Fail(std::string(where) + key + ": expected string");
  return value.get<std::string>();
}

Result<uint64_t> GetUnsigned(const Json& object, const char* key, std::string_view where) {
  const Json& value = object.at(key);
  if (!value.is_number_unsigned()) {
    if (value.is_number_integer()) return Fail(std::string(where) + key + ": must not be negative");
    return Fail(std::string(where) + key + ": expected unsigned integer");
  }
  return value.get<uint64_t>();
}

Result<bool> GetBool(const Json& object, const char* key, std::string_view where) {
  const Json& value = object.at(key);
  if (!value.is_boolean()) return Fail(std::string(where) + key + ": expected boolean");
  return value.get<bool>();
}

}  // namespace

Result<VmConfig> ParseConfigJson(std::string_view text, VmConfig config) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Fail("invalid JSON");
  if (!root.is_object()) return Fail("expected a JSON object at the top level");
  TRY(RejectUnknown(
      root, "", {"boot", "machine", "console", "drives", "network_interfaces", "vsock", "rng"}));
  if (root.contains("boot")) {
    const Json& boot = root["boot"];
    if (!boot.is_object()) return Fail("boot: expected object");
    TRY(RejectUnknown(boot, "boot.", {"kernel", "initrd", "cmdline"}));
    if (boot.contains("kernel")) config.boot.kernel_path = TRY(GetString(boot, "kernel", "boot."));
    if (boot.contains("initrd")) config.boot.initrd_path = TRY(GetString(boot, "initrd", "boot."));
    if (boot.contains("cmdline")) config.boot.cmdline = TRY(GetString(boot, "cmdline", "boot."));
  }
  if (root.contains("machine")) {
    const Json& machine = root["machine"];
    if (!machine.is_object()) return Fail("machine: expected object");
    TRY(RejectUnknown(machine, "machine.", {"cpus", "memory_mib", "hugepages", "memfd", "acpi"}));
    // Ranges are checked here too, so that errors name the file's field (hull-vmm adds the
    // file's path); ValidateConfig checks the merged configuration again.
    if (machine.contains("cpus")) {
      uint64_t cpus = TRY(GetUnsigned(machine, "cpus", "machine."));
      TRY(CheckVcpuCount(cpus, "machine.cpus"));
      config.cpus = static_cast<uint32_t>(cpus);
    }
    if (machine.contains("memory_mib")) {
      config.memory_mib = TRY(GetUnsigned(machine, "memory_mib", "machine."));
      TRY(CheckMemoryMib(config.memory_mib, /*hugepages=*/false, "machine.memory_mib"));
    }
    if (machine.contains("hugepages")) {
      config.hugepages = TRY(GetBool(machine, "hugepages", "machine."));
      if (machine.contains("memory_mib"))
        TRY(CheckMemoryMib(config.memory_mib, config.hugepages, "machine.memory_mib"));
    }
    if (machine.contains("memfd")) config.memfd = TRY(GetBool(machine, "memfd", "machine."));
    if (machine.contains("acpi")) config.acpi = TRY(GetBool(machine, "acpi", "machine."));
  }
  if (root.contains("drives")) {
    const Json& drives = root["drives"];
    if (!drives.is_array()) return Fail("drives: expected array");
    config.disks.clear();
    for (size_t i = 0; i < drives.size(); ++i) {
      std::string where = "drives[" + std::to_string(i) + "].";
      const Json& drive = drives[i];
      if (!drive.is_object()) return Fail(where.substr(0, where.size() - 1) + ": expected object");
      TRY(RejectUnknown(drive, where, {"path", "readonly", "id"}));
      if (!drive.contains("path")) return Fail(where + "path: required");
      DiskConfig disk;
      disk.path = TRY(GetString(drive, "path", where));
      if (drive.contains("readonly")) disk.read_only = TRY(GetBool(drive, "readonly", where));
      if (drive.contains("id")) {
        disk.id = TRY(GetString(drive, "id", where));
        TRY(ValidateDiskId(disk.id, where + "id"));
      }
      config.disks.push_back(std::move(disk));
    }
  }
  if (root.contains("network_interfaces")) {
    const Json& nets = root["network_interfaces"];
    if (!nets.is_array()) return Fail("network_interfaces: expected array");
    config.nets.clear();
    for (size_t i = 0; i < nets.size(); ++i) {
      std::string where = "network_interfaces[" + std::to_string(i) + "].";
      const Json& item = nets[i];
      if (!item.is_object()) return Fail(where.substr(0, where.size() - 1) + ": expected object");
      TRY(RejectUnknown(item, where, {"tap", "mac"}));
      if (!item.contains("tap")) return Fail(where + "tap: required");
      NetConfig net;
      net.tap = TRY(GetString(item, "tap", where));
      TRY_CTX(ValidateTapName(net.tap), where + "tap");
      if (item.contains("mac")) {
        net.mac = TRY(GetString(item, "mac", where));
        TRY_CTX(virtio::ParseMac(net.mac), where + "mac");
      }
      config.nets.push_back(std::move(net));
    }
  }
  if (root.contains("vsock")) {
    const Json& vsock = root["vsock"];
    if (!vsock.is_object()) return Fail("vsock: expected object");
    TRY(RejectUnknown(vsock, "vsock.", {"guest_cid", "uds_path"}));
    if (!vsock.contains("guest_cid")) return Fail("vsock.guest_cid: required");
    if (!vsock.contains("uds_path")) return Fail("vsock.uds_path: required");
    config.vsock = VsockConfig{TRY(GetUnsigned(vsock, "guest_cid", "vsock.")),
                               TRY(GetString(vsock, "uds_path", "vsock."))};
    TRY(CheckGuestCid(config.vsock->guest_cid, "vsock.guest_cid"));
  }
  if (root.contains("rng")) config.rng = TRY(GetBool(root, "rng", ""));
  if (root.contains("console")) {
    std::string console = TRY(GetString(root, "console", ""));
    config.console = TRY(ParseConsole(console));
  }
  return config;
}

}  // namespace hull::vmm
