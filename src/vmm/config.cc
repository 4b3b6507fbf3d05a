#include "vmm/config.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/devices/virtio/vsock.h"
#include "vmm/json_fields.h"
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

Result<VmConfig> ParseConfigJson(std::string_view text, VmConfig config) {
  nlohmann::json root = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Fail("invalid JSON");
  if (!root.is_object()) return Fail("expected a JSON object at the top level");
  // null is not a way to leave a field out of a file.
  constexpr JsonFields::Null kNull = JsonFields::Null::kIsWrongType;
  JsonFields file = TRY(JsonFields::Of(
      std::move(root), "",
      {"boot", "machine", "console", "drives", "network_interfaces", "vsock", "rng"}, kNull));
  if (auto boot = TRY(file.OptionalObject("boot", {"kernel", "initrd", "cmdline"}))) {
    if (auto kernel = TRY(boot->OptionalString("kernel"))) config.boot.kernel_path = *kernel;
    if (auto initrd = TRY(boot->OptionalString("initrd"))) config.boot.initrd_path = *initrd;
    if (auto cmdline = TRY(boot->OptionalString("cmdline"))) config.boot.cmdline = *cmdline;
  }
  if (auto machine = TRY(
          file.OptionalObject("machine", {"cpus", "memory_mib", "hugepages", "memfd", "acpi"}))) {
    // Ranges are checked here too, so that errors name the file's field (hull-vmm adds the
    // file's path); ValidateConfig checks the merged configuration again.
    if (auto cpus = TRY(machine->OptionalUnsigned("cpus"))) {
      TRY(CheckVcpuCount(*cpus, machine->Name("cpus")));
      config.cpus = static_cast<uint32_t>(*cpus);
    }
    std::optional<uint64_t> memory = TRY(machine->OptionalUnsigned("memory_mib"));
    if (memory) {
      TRY(CheckMemoryMib(*memory, /*hugepages=*/false, machine->Name("memory_mib")));
      config.memory_mib = *memory;
    }
    if (auto hugepages = TRY(machine->OptionalBool("hugepages"))) {
      config.hugepages = *hugepages;
      // Once they are known, huge pages may need a multiple of 2 MiB.
      if (memory) TRY(CheckMemoryMib(*memory, *hugepages, machine->Name("memory_mib")));
    }
    if (auto memfd = TRY(machine->OptionalBool("memfd"))) config.memfd = *memfd;
    if (auto acpi = TRY(machine->OptionalBool("acpi"))) config.acpi = *acpi;
  }
  if (auto drives = TRY(file.OptionalObjects("drives", {"path", "readonly", "id"}))) {
    config.disks.clear();
    for (const JsonFields& drive : *drives) {
      DiskConfig disk;
      disk.path = TRY(drive.String("path"));
      disk.read_only = TRY(drive.OptionalBool("readonly")).value_or(false);
      if (auto id = TRY(drive.OptionalString("id"))) {
        disk.id = *id;
        TRY(ValidateDiskId(disk.id, drive.Name("id")));
      }
      config.disks.push_back(std::move(disk));
    }
  }
  if (auto nets = TRY(file.OptionalObjects("network_interfaces", {"tap", "mac"}))) {
    config.nets.clear();
    for (const JsonFields& item : *nets) {
      NetConfig net;
      net.tap = TRY(item.String("tap"));
      TRY_CTX(ValidateTapName(net.tap), item.Name("tap"));
      if (auto mac = TRY(item.OptionalString("mac"))) {
        net.mac = *mac;
        TRY_CTX(virtio::ParseMac(net.mac), item.Name("mac"));
      }
      config.nets.push_back(std::move(net));
    }
  }
  if (auto vsock = TRY(file.OptionalObject("vsock", {"guest_cid", "uds_path"}))) {
    uint64_t cid = TRY(vsock->Unsigned("guest_cid"));
    std::string uds_path = TRY(vsock->String("uds_path"));
    TRY(CheckGuestCid(cid, vsock->Name("guest_cid")));
    config.vsock = VsockConfig{cid, std::move(uds_path)};
  }
  if (auto rng = TRY(file.OptionalBool("rng"))) config.rng = *rng;
  if (auto console = TRY(file.OptionalString("console")))
    config.console = TRY(ParseConsole(*console));
  return config;
}

}  // namespace hull::vmm
