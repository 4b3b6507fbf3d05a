// VmConfig from JSON and flags: validation and error messages that name the setting.
#include "vmm/config.h"

#include <gtest/gtest.h>

namespace hull::vmm {
namespace {

void ExpectError(const Result<VmConfig>& r, const std::string& text) {
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find(text), std::string::npos) << r.error().ToString();
}

TEST(VmmConfig, ParsesAFullConfig) {
  auto config = ParseConfigJson(R"({
    "boot": {"kernel": "/k", "initrd": "/i", "cmdline": "console=ttyS0"},
    "machine": {"cpus": 4, "memory_mib": 512, "hugepages": false, "memfd": true},
    "console": "file:/tmp/out"})");
  ASSERT_TRUE(config) << config.error().ToString();
  EXPECT_EQ(config->boot.kernel_path, "/k");
  EXPECT_EQ(config->boot.initrd_path, "/i");
  EXPECT_EQ(config->boot.cmdline, "console=ttyS0");
  EXPECT_EQ(config->cpus, 4u);
  EXPECT_EQ(config->memory_mib, 512u);
  EXPECT_TRUE(config->memfd);
  EXPECT_EQ(config->console.kind, ConsoleConfig::Kind::kFile);
  EXPECT_EQ(config->console.path, "/tmp/out");
  EXPECT_TRUE(ValidateConfig(*config));
}

TEST(VmmConfig, UnknownFieldsAreNamed) {
  ExpectError(ParseConfigJson(R"({"bootsource": {}})"), "bootsource: unknown field");
  ExpectError(ParseConfigJson(R"({"boot": {"kernal": "/k"}})"), "boot.kernal: unknown field");
  ExpectError(ParseConfigJson(R"({"machine": {"vcpus": 2}})"), "machine.vcpus: unknown field");
}

TEST(VmmConfig, WrongTypesAreNamed) {
  ExpectError(ParseConfigJson(R"({"machine": {"cpus": "two"}})"),
              "machine.cpus: expected unsigned");
  ExpectError(ParseConfigJson(R"({"machine": {"cpus": -1}})"),
              "machine.cpus: must not be negative");
  ExpectError(ParseConfigJson(R"({"boot": {"kernel": 7}})"), "boot.kernel: expected string");
  ExpectError(ParseConfigJson(R"({"machine": {"hugepages": 1}})"),
              "machine.hugepages: expected boolean");
  ExpectError(ParseConfigJson(R"({"boot": []})"), "boot: expected object");
  ExpectError(ParseConfigJson("[1]"), "top level");
  ExpectError(ParseConfigJson("{"), "invalid JSON");
  ExpectError(ParseConfigJson(R"({"console": "tty"})"), "console \"tty\"");
  // null does not leave a field out of a file (the API takes it so, for Firecracker's clients).
  ExpectError(ParseConfigJson(R"({"boot": {"kernel": null}})"),
              "boot.kernel: expected string, got null");
  ExpectError(ParseConfigJson(R"({"machine": null})"), "machine: expected object, got null");
  ExpectError(ParseConfigJson(R"({"drives": [null]})"), "drives[0]: expected object, got null");
  ExpectError(ParseConfigJson(R"({"rng": null})"), "rng: expected boolean, got null");
}

TEST(VmmConfig, RangesAreChecked) {
  VmConfig config;
  config.boot.kernel_path = "/k";
  EXPECT_TRUE(ValidateConfig(config));
  config.cpus = 0;
  EXPECT_FALSE(ValidateConfig(config));
  config.cpus = kMaxVcpus + 1;
  auto r = ValidateConfig(config);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("cpus: 255 is out of range"), std::string::npos);
  config.cpus = 32;
  config.memory_mib = 1;
  EXPECT_FALSE(ValidateConfig(config));
  config.memory_mib = kMaxMemoryMib + 1;
  EXPECT_FALSE(ValidateConfig(config));
  config.memory_mib = 64;
  config.boot.kernel_path.clear();
  EXPECT_FALSE(ValidateConfig(config));
  ExpectError(ParseConfigJson(R"({"machine": {"cpus": 100000}})"),
              "machine.cpus: 100000 is out of range");
}

// A config file's range errors name the JSON field (hull-vmm adds the file's path), not the
// flag-style setting that ValidateConfig reports.
TEST(VmmConfig, RangeErrorsNameTheJsonField) {
  ExpectError(ParseConfigJson(R"({"machine": {"memory_mib": 2}})"),
              "machine.memory_mib: 2 MiB is out of range 4..");
  ExpectError(ParseConfigJson(R"({"machine": {"memory_mib": 4194304}})"),
              "machine.memory_mib: 4194304 MiB");
  ExpectError(ParseConfigJson(R"({"machine": {"cpus": 0}})"),
              "machine.cpus: 0 is out of range 1..254");
  ExpectError(ParseConfigJson(R"({"machine": {"memory_mib": 33, "hugepages": true}})"),
              "machine.memory_mib: 33 MiB is not a multiple of 2 MiB, as huge pages need");
  ExpectError(ParseConfigJson(R"({"vsock": {"guest_cid": 2, "uds_path": "/v"}})"),
              "vsock.guest_cid: 2 is out of range 3..4294967294");
  ExpectError(ParseConfigJson(R"({"network_interfaces": [{"tap": "a-name-of-sixteen"}]})"),
              "network_interfaces[0].tap: \"a-name-of-sixteen\" is longer than 15 bytes");
}

// The flags, the config file and the API share these checks; each names its own field.
TEST(VmmConfig, RangeChecksNameTheCallersField) {
  auto expect_error = [](const Result<void>& r, const std::string& text) {
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().ToString(), text);
  };
  EXPECT_TRUE(CheckVcpuCount(1, "cpus"));
  EXPECT_TRUE(CheckVcpuCount(kMaxVcpus, "cpus"));
  expect_error(CheckVcpuCount(0, "vcpu_count"), "vcpu_count: 0 is out of range 1..254");
  expect_error(CheckVcpuCount(255, "machine.cpus"), "machine.cpus: 255 is out of range 1..254");
  EXPECT_TRUE(CheckMemoryMib(kMinMemoryMib, false, "memory"));
  EXPECT_TRUE(CheckMemoryMib(kMaxMemoryMib, true, "memory"));
  EXPECT_TRUE(CheckMemoryMib(33, false, "memory")) << "any size without huge pages";
  expect_error(CheckMemoryMib(3, false, "mem_size_mib"),
               "mem_size_mib: 3 MiB is out of range 4..1048576 MiB");
  expect_error(CheckMemoryMib(kMaxMemoryMib + 2, true, "memory"),
               "memory: 1048578 MiB is out of range 4..1048576 MiB");
  expect_error(CheckMemoryMib(33, true, "memory"),
               "memory: 33 MiB is not a multiple of 2 MiB, as huge pages need");
  EXPECT_TRUE(CheckGuestCid(3, "guest_cid"));
  EXPECT_TRUE(CheckGuestCid(0xfffffffe, "guest_cid"));
  expect_error(CheckGuestCid(2, "guest_cid"), "guest_cid: 2 is out of range 3..4294967294");
  expect_error(CheckGuestCid(0xffffffff, "vsock.guest_cid"),
               "vsock.guest_cid: 4294967295 is out of range 3..4294967294");
  // ValidateConfig checks what the flags set.
  VmConfig config;
  config.boot.kernel_path = "/k";
  config.memory_mib = 33;
  EXPECT_TRUE(ValidateConfig(config));
  config.hugepages = true;
  auto r = ValidateConfig(config);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(), "memory: 33 MiB is not a multiple of 2 MiB, as huge pages need");
}

TEST(VmmConfig, TapNamesAreChecked) {
  EXPECT_TRUE(ValidateTapName("tap0"));
  EXPECT_TRUE(ValidateTapName("fifteen-bytes-x"));
  EXPECT_FALSE(ValidateTapName(""));
  EXPECT_FALSE(ValidateTapName("sixteen-bytes-xx"));
  EXPECT_FALSE(ValidateTapName("a/b"));
  EXPECT_FALSE(ValidateTapName("a b"));
  EXPECT_FALSE(ValidateTapName(".."));
  VmConfig config;
  config.boot.kernel_path = "/k";
  config.nets.push_back({"sixteen-bytes-xx", ""});
  auto r = ValidateConfig(config);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("\"sixteen-bytes-xx\" is longer than 15 bytes"),
            std::string::npos)
      << r.error().ToString();
}

TEST(VmmConfig, ConsoleForms) {
  EXPECT_EQ(ParseConsole("stdio")->kind, ConsoleConfig::Kind::kStdio);
  EXPECT_EQ(ParseConsole("none")->kind, ConsoleConfig::Kind::kNone);
  EXPECT_EQ(ParseConsole("socket:/run/c.sock")->path, "/run/c.sock");
  EXPECT_FALSE(ParseConsole("file:"));
  EXPECT_FALSE(ParseConsole(""));
}

TEST(VmmConfig, DrivesAndRng) {
  auto config =
      ParseConfigJson(R"({"drives": [{"path": "/a.img"}, {"path": "/b.img", "readonly": true}],
                                    "rng": true})");
  ASSERT_TRUE(config) << config.error().ToString();
  ASSERT_EQ(config->disks.size(), 2u);
  EXPECT_EQ(config->disks[1].path, "/b.img");
  EXPECT_TRUE(config->disks[1].read_only);
  EXPECT_TRUE(config->rng);
  ExpectError(ParseConfigJson(R"({"drives": [{"path": "/a", "cache": "none"}]})"),
              "drives[0].cache: unknown field");
  ExpectError(ParseConfigJson(R"({"drives": [{"readonly": true}]})"), "drives[0].path: required");
  ExpectError(ParseConfigJson(R"({"drives": {}})"), "drives: expected array");
  EXPECT_TRUE(ParseDisk("/x.img,readonly")->read_only);
  EXPECT_FALSE(ParseDisk("/x.img")->read_only);
  EXPECT_FALSE(ParseDisk("/x.img,rw"));
  EXPECT_FALSE(ParseDisk(",readonly"));
  EXPECT_FALSE(ParseDisk("/x.img,"));
}

TEST(VmmConfig, DiskIds) {
  auto disk = ParseDisk("/x.img,id=root-disk,readonly");
  ASSERT_TRUE(disk) << disk.error().ToString();
  EXPECT_EQ(disk->id, "root-disk");
  EXPECT_TRUE(disk->read_only);
  EXPECT_EQ(ParseDisk("/x.img,ro,id=abcdefghijklmnopqrst")->id, "abcdefghijklmnopqrst");
  EXPECT_EQ(ParseDisk("/x.img")->id, "") << "empty: derived from the file";
  auto too_long = ParseDisk("/x.img,id=abcdefghijklmnopqrstu");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().ToString().find("id: \"abcdefghijklmnopqrstu\" is 21 bytes long"),
            std::string::npos)
      << too_long.error().ToString();
  EXPECT_FALSE(ParseDisk("/x.img,id="));
  auto config = ParseConfigJson(R"({"drives": [{"path": "/a.img", "id": "data"}]})");
  ASSERT_TRUE(config) << config.error().ToString();
  EXPECT_EQ(config->disks[0].id, "data");
  ExpectError(
      ParseConfigJson(R"({"drives": [{"path": "/a", "id": "abcdefghijklmnopqrstuvwxyz"}]})"),
      "drives[0].id: \"abcdefghijklmnopqrstuvwxyz\" is 26 bytes long");
  ExpectError(ParseConfigJson(R"({"drives": [{"path": "/a", "id": "tab\there"}]})"),
              "is not printable ASCII");
  ExpectError(ParseConfigJson(R"({"drives": [{"path": "/a", "id": 7}]})"),
              "drives[0].id: expected string");
  // Whatever set it (the API, say), validation names the drive.
  VmConfig api;
  api.boot.kernel_path = "/k";
  api.disks.push_back({"/a", false, std::string(21, 'x')});
  auto valid = ValidateConfig(api);
  ASSERT_FALSE(valid);
  EXPECT_NE(valid.error().ToString().find("drives[0].id"), std::string::npos);
}

TEST(VmmConfig, TooManyDevices) {
  VmConfig many;
  many.boot.kernel_path = "/k";
  many.disks.resize(kMaxVirtioDevices + 1, DiskConfig{"/d", false});
  EXPECT_FALSE(ValidateConfig(many));
}

TEST(VmmConfig, NetworkInterfaces) {
  auto config =
      ParseConfigJson(R"({"network_interfaces": [{"tap": "tap0", "mac": "06:00:00:00:00:01"}]})");
  ASSERT_TRUE(config) << config.error().ToString();
  ASSERT_EQ(config->nets.size(), 1u);
  EXPECT_EQ(config->nets[0].tap, "tap0");
  ExpectError(ParseConfigJson(R"({"network_interfaces": [{"tap": "t", "mac": "nope"}]})"),
              "network_interfaces[0].mac");
  ExpectError(ParseConfigJson(R"({"network_interfaces": [{"mac": "06:00:00:00:00:01"}]})"),
              "network_interfaces[0].tap: required");
  auto net = ParseNet("tap=hull0,mac=06:00:00:00:00:02");
  ASSERT_TRUE(net);
  EXPECT_EQ(net->tap, "hull0");
  EXPECT_EQ(net->mac, "06:00:00:00:00:02");
  EXPECT_FALSE(ParseNet("mac=06:00:00:00:00:02"));
  EXPECT_FALSE(ParseNet("tap=x,speed=10"));
}

TEST(VmmConfig, WithoutAcpiOnlyLegacyIrqsAreAvailable) {
  auto config = ParseConfigJson(R"({"boot": {"kernel": "/k"}, "machine": {"acpi": false}})");
  ASSERT_TRUE(config);
  EXPECT_FALSE(config->acpi);
  config->disks.resize(kMaxVirtioDevicesWithoutAcpi, DiskConfig{"/d", false});
  EXPECT_TRUE(ValidateConfig(*config));
  config->rng = true;
  EXPECT_FALSE(ValidateConfig(*config));
}

TEST(VmmConfig, Vsock) {
  auto config = ParseConfigJson(R"({"vsock": {"guest_cid": 3, "uds_path": "/run/v.sock"}})");
  ASSERT_TRUE(config) << config.error().ToString();
  ASSERT_TRUE(config->vsock);
  EXPECT_EQ(config->vsock->guest_cid, 3u);
  ExpectError(ParseConfigJson(R"({"vsock": {"guest_cid": 3}})"), "vsock.uds_path: required");
  ExpectError(ParseConfigJson(R"({"vsock": {"cid": 3, "uds_path": "/x"}})"),
              "vsock.cid: unknown field");
  auto parsed = ParseVsock("cid=7,uds=/tmp/v.sock");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->guest_cid, 7u);
  EXPECT_EQ(parsed->uds_path, "/tmp/v.sock");
  EXPECT_FALSE(ParseVsock("cid=x,uds=/a"));
  EXPECT_FALSE(ParseVsock("uds=/a"));
  VmConfig bad;
  bad.boot.kernel_path = "/k";
  bad.vsock = VsockConfig{2, "/a"};
  auto r = ValidateConfig(bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("vsock: guest CID: 2 is out of range 3..4294967294"),
            std::string::npos);
}

}  // namespace
}  // namespace hull::vmm
