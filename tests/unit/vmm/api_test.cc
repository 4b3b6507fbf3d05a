// The API's HTTP parsing and the configuration it collects before the VM starts (no KVM).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "linux/file.h"
#include "vmm/api/http.h"
#include "vmm/api/vmm_api.h"

namespace hull::vmm::api {
namespace {

TEST(VmmApiHttp, ParsesRequestsAcrossReads) {
  std::string buffer = "PUT /boot-source HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel";
  auto partial = TakeRequest(buffer);
  ASSERT_TRUE(partial);
  EXPECT_FALSE(*partial) << "body incomplete";
  buffer += "loGET / HTTP/1.1\r\n\r\n";
  auto first = TakeRequest(buffer);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->method, "PUT");
  EXPECT_EQ((*first)->path, "/boot-source");
  EXPECT_EQ((*first)->body, "hello");
  auto second = TakeRequest(buffer);
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->method, "GET");
  EXPECT_TRUE(buffer.empty());
}

TEST(VmmApiHttp, RejectsMalformedAndOversizedRequests) {
  std::string bad = "NONSENSE\r\n\r\n";
  EXPECT_FALSE(TakeRequest(bad));
  std::string huge = "PUT / HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n";
  EXPECT_FALSE(TakeRequest(huge));
  std::string chunked = "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_FALSE(TakeRequest(chunked));
  std::string endless(kMaxHeaderBytes + 10, 'a');
  EXPECT_FALSE(TakeRequest(endless));
  std::string length = "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n";
  EXPECT_FALSE(TakeRequest(length));
}

TEST(VmmApiHttp, FormatsResponses) {
  EXPECT_EQ(FormatResponse({204, ""}), "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
  std::string fault = FormatResponse(Fault(400, "vcpu_count: bad"));
  EXPECT_NE(fault.find("400 Bad Request"), std::string::npos);
  EXPECT_NE(fault.find("{\"fault_message\":\"vcpu_count: bad\"}"), std::string::npos);
}

HttpResponse Request(VmmApi& api, std::string method, std::string path, std::string body = "") {
  return api.Handle({std::move(method), std::move(path), std::move(body)});
}

// Host files the drive and boot-source requests point at (checked when the request arrives).
class VmmApiFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hull-vmm-api-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    for (const char* name : {"k", "i", "r.img", "a.img", "b.img", "c.img"})
      ASSERT_TRUE(linux::WriteFile(dir_ + "/" + name, std::string(4096, 0)));
  }
  void TearDown() override {
    if (!dir_.empty()) (void)linux::RemoveAll(dir_);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Drive(const std::string& id, const std::string& file, const std::string& extra = "") {
    return R"({"drive_id": ")" + id + R"(", "path_on_host": ")" + Path(file) + "\"" + extra + "}";
  }
  std::string dir_;
};

// 400 with {"fault_message": ...} containing `expected`.
void ExpectFault(const HttpResponse& r, const std::string& expected) {
  EXPECT_EQ(r.status, 400) << r.body;
  auto json = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(json.is_object() && json.contains("fault_message") &&
              json["fault_message"].is_string())
      << "Firecracker's error shape: " << r.body;
  EXPECT_NE(json["fault_message"].get<std::string>().find(expected), std::string::npos) << r.body;
}

using VmmApiConfig = VmmApiFiles;

TEST_F(VmmApiConfig, CollectsTheMachineBeforeStart) {
  VmmApi api({});
  EXPECT_EQ(Request(api, "PUT", "/boot-source",
                    R"({"kernel_image_path": ")" + Path("k") + R"(", "initrd_path": ")" +
                        Path("i") + R"(", "boot_args": "console=ttyS0"})")
                .status,
            204);
  EXPECT_EQ(
      Request(api, "PUT", "/machine-config", R"({"vcpu_count": 4, "mem_size_mib": 512})").status,
      204);
  EXPECT_EQ(Request(api, "PUT", "/drives/rootfs",
                    Drive("rootfs", "r.img", R"(, "is_read_only": true, "is_root_device": true)"))
                .status,
            204);
  EXPECT_EQ(
      Request(api, "PUT", "/network-interfaces/eth0",
              R"({"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:00:00:00:01"})")
          .status,
      204);
  EXPECT_EQ(Request(api, "PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "/v.sock"})").status,
            204);
  EXPECT_EQ(Request(api, "PUT", "/entropy", "{}").status, 204);
  const VmConfig& c = api.config();
  EXPECT_EQ(c.boot.kernel_path, Path("k"));
  EXPECT_EQ(c.boot.cmdline, "console=ttyS0");
  EXPECT_EQ(c.cpus, 4u);
  EXPECT_EQ(c.memory_mib, 512u);
  ASSERT_EQ(c.disks.size(), 1u);
  EXPECT_TRUE(c.disks[0].read_only);
  ASSERT_EQ(c.nets.size(), 1u);
  EXPECT_EQ(c.nets[0].tap, "tap0");
  ASSERT_TRUE(c.vsock);
  EXPECT_TRUE(c.rng);
  auto state = Request(api, "GET", "/");
  EXPECT_NE(state.body.find("\"Not started\""), std::string::npos);
  auto config = Request(api, "GET", "/vm/config");
  EXPECT_NE(config.body.find(Path("r.img")), std::string::npos);
}

TEST_F(VmmApiConfig, ErrorsNameTheField) {
  VmmApi api({});
  auto check = [&](std::string path, std::string body, std::string expected) {
    HttpResponse r = Request(api, "PUT", path, body);
    EXPECT_EQ(r.status, 400) << path << " " << body;
    EXPECT_NE(r.body.find(expected), std::string::npos) << r.body;
  };
  check("/boot-source", R"({"kernel_image": "/k"})", "kernel_image: unknown field");
  check("/boot-source", R"({"boot_args": "x"})", "kernel_image_path: required");
  check("/machine-config", R"({"vcpu_count": 300, "mem_size_mib": 64})",
        "vcpu_count: 300 is out of range");
  check("/machine-config", R"({"vcpu_count": 1, "mem_size_mib": "lots"})",
        "mem_size_mib: expected unsigned");
  check("/machine-config", R"({"vcpu_count": 1, "mem_size_mib": 2})",
        "mem_size_mib: 2 MiB is out of range 4..1048576 MiB");
  check("/drives/a", R"({"drive_id": "b", "path_on_host": "/x"})", "drive_id: does not match");
  check("/network-interfaces/eth0",
        R"({"iface_id": "eth0", "host_dev_name": "t", "guest_mac": "zz"})", "guest_mac");
  check("/vsock", R"({"guest_cid": 1, "uds_path": "/v"})",
        "guest_cid: 1 is out of range 3..4294967294");
  check("/machine-config", "{not json", "invalid JSON");
  EXPECT_EQ(Request(api, "PUT", "/nowhere", "{}").status, 404);
  EXPECT_EQ(Request(api, "DELETE", "/", "").status, 405);
  EXPECT_EQ(Request(api, "PATCH", "/vm", R"({"state": "Paused"})").status, 400) << "not started";
  EXPECT_EQ(Request(api, "PUT", "/actions", R"({"action_type": "Reboot"})").status, 400);
  EXPECT_EQ(api.config().cpus, 1u) << "failed requests change nothing";
}

// Every accepted field is type-checked, even those hull-vmm only accepts for compatibility.
TEST_F(VmmApiConfig, EveryFieldIsTypeChecked) {
  VmmApi api({});
  ExpectFault(Request(api, "PUT", "/machine-config",
                      R"({"vcpu_count": 1, "mem_size_mib": 64, "smt": "yes please"})"),
              "smt: expected boolean, got string");
  ExpectFault(Request(api, "PUT", "/machine-config",
                      R"({"vcpu_count": 1, "mem_size_mib": 64, "track_dirty_pages": 7})"),
              "track_dirty_pages: expected boolean, got number");
  ExpectFault(Request(api, "PUT", "/machine-config",
                      R"({"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": 2})"),
              "huge_pages: expected string");
  ExpectFault(
      Request(api, "PUT", "/drives/a", Drive("a", "a.img", R"(, "is_root_device": "maybe")")),
      "is_root_device: expected boolean, got string");
  ExpectFault(Request(api, "PUT", "/drives/a", Drive("a", "a.img", R"(, "is_read_only": 0)")),
              "is_read_only: expected boolean");
  ExpectFault(Request(api, "PUT", "/drives/a", Drive("a", "a.img", R"(, "rate_limiter": [])")),
              "rate_limiter: expected object, got array");
  ExpectFault(Request(api, "PUT", "/vsock",
                      R"({"guest_cid": 3, "uds_path": "/tmp/v.sock", "vsock_id": 5})"),
              "vsock_id: expected string, got number");
  ExpectFault(Request(api, "PUT", "/entropy", R"({"rate_limiter": "lots"})"),
              "rate_limiter: expected object, got string");
  ExpectFault(Request(api, "PUT", "/network-interfaces/eth0",
                      R"({"iface_id": "eth0", "host_dev_name": "tap0", "tx_rate_limiter": 1})"),
              "tx_rate_limiter: expected object");
  ExpectFault(Request(api, "PUT", "/boot-source",
                      R"({"kernel_image_path": ")" + Path("k") + R"(", "boot_args": 1})"),
              "boot_args: expected string");
  ExpectFault(Request(api, "PUT", "/machine-config", R"({"vcpu_count": 1.5, "mem_size_mib": 64})"),
              "vcpu_count: expected unsigned integer");
  ExpectFault(Request(api, "PUT", "/machine-config", R"({"vcpu_count": -1, "mem_size_mib": 64})"),
              "vcpu_count: must not be negative");
  const VmConfig& c = api.config();
  EXPECT_TRUE(c.disks.empty() && !c.vsock && !c.rng && c.nets.empty())
      << "failed requests change nothing";
}

TEST_F(VmmApiConfig, UnsupportedValuesAreRejected) {
  VmmApi api({});
  ExpectFault(Request(api, "PUT", "/machine-config",
                      R"({"vcpu_count": 2, "mem_size_mib": 64, "smt": true})"),
              "smt: simultaneous multithreading is not supported");
  ExpectFault(Request(api, "PUT", "/machine-config",
                      R"({"vcpu_count": 2, "mem_size_mib": 64, "track_dirty_pages": true})"),
              "track_dirty_pages: dirty page tracking is not supported");
  ExpectFault(Request(api, "PUT", "/machine-config",
                      R"({"vcpu_count": 2, "mem_size_mib": 64, "huge_pages": "1G"})"),
              "huge_pages: expected \"None\" or \"2M\"");
  ExpectFault(Request(api, "PUT", "/machine-config",
                      R"({"vcpu_count": 2, "mem_size_mib": 65, "huge_pages": "2M"})"),
              "mem_size_mib: 65 MiB is not a multiple of 2 MiB, as huge pages need");
  ExpectFault(Request(api, "PUT", "/entropy",
                      R"({"rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}}})"),
              "rate_limiter: rate limiting is not supported");
  ExpectFault(Request(api, "PUT", "/entropy", R"({"rate_limiter": {"burst": 1}})"),
              "rate_limiter.burst: unknown field");
  EXPECT_FALSE(api.config().rng);
  // What the defaults mean is accepted: no limiter, SMT off, no dirty tracking.
  EXPECT_EQ(Request(api, "PUT", "/entropy", R"({"rate_limiter": {}})").status, 204);
  EXPECT_EQ(Request(api, "PUT", "/entropy", R"({"rate_limiter": null})").status, 204);
  EXPECT_EQ(Request(api, "PUT", "/boot-source",
                    R"({"kernel_image_path": ")" + Path("k") + R"(", "initrd_path": null})")
                .status,
            204)
      << "a null field is left out";
  EXPECT_EQ(Request(api, "PUT", "/entropy", R"({"rate_limiter": {"bandwidth": null, "ops": null}})")
                .status,
            204);
  EXPECT_EQ(
      Request(
          api, "PUT", "/machine-config",
          R"({"vcpu_count": 2, "mem_size_mib": 64, "smt": false, "track_dirty_pages": false, "huge_pages": "2M"})")
          .status,
      204);
  EXPECT_TRUE(api.config().hugepages);
}

TEST_F(VmmApiConfig, DrivesKeepTheirOrderWithTheRootDeviceFirst) {
  VmmApi api({});
  EXPECT_EQ(Request(api, "PUT", "/drives/zeta", Drive("zeta", "b.img")).status, 204);
  EXPECT_EQ(Request(api, "PUT", "/drives/alpha", Drive("alpha", "a.img")).status, 204);
  EXPECT_EQ(
      Request(api, "PUT", "/drives/root", Drive("root", "r.img", R"(, "is_root_device": true)"))
          .status,
      204);
  auto paths = [&] {
    std::vector<std::string> out;
    for (const DiskConfig& d : api.config().disks) out.push_back(d.path);
    return out;
  };
  EXPECT_EQ(paths(), (std::vector<std::string>{Path("r.img"), Path("b.img"), Path("a.img")}));
  // Updating a drive keeps its place.
  EXPECT_EQ(Request(api, "PUT", "/drives/zeta", Drive("zeta", "c.img", R"(, "is_read_only": true)"))
                .status,
            204);
  EXPECT_EQ(paths(), (std::vector<std::string>{Path("r.img"), Path("c.img"), Path("a.img")}));
  EXPECT_TRUE(api.config().disks[1].read_only);
  // GET /vm/config shows them in the order the VM gets them.
  auto config = nlohmann::json::parse(Request(api, "GET", "/vm/config").body, nullptr, false);
  ASSERT_TRUE(config.contains("drives") && config["drives"].size() == 3u) << config.dump();
  EXPECT_EQ(config["drives"][0]["path"], Path("r.img"));
  EXPECT_EQ(config["drives"][1]["path"], Path("c.img"));
  EXPECT_EQ(config["drives"][1]["readonly"], true);
  EXPECT_EQ(config["drives"][2]["path"], Path("a.img"));
  ExpectFault(
      Request(api, "PUT", "/drives/other", Drive("other", "a.img", R"(, "is_root_device": true)")),
      "drive \"other\": is_root_device: drive \"root\" is already the root device");
  ExpectFault(Request(api, "PUT", "/drives/", Drive("", "a.img")), "drive_id: must not be empty");
  ExpectFault(Request(api, "PUT", "/drives/a/b", Drive("a/b", "a.img")),
              "drive_id \"a/b\": only letters");
  EXPECT_EQ(api.config().disks.size(), 3u);
}

TEST_F(VmmApiConfig, DrivePathsAreCheckedWhenPut) {
  VmmApi api({});
  ExpectFault(Request(api, "PUT", "/drives/rootfs", Drive("rootfs", "missing.img")),
              "drive \"rootfs\": path_on_host: open \"" + Path("missing.img") +
                  "\" read-write: No such file");
  ExpectFault(Request(api, "PUT", "/drives/rootfs",
                      R"({"drive_id": "rootfs", "path_on_host": ")" + dir_ + "\"}"),
              "drive \"rootfs\": path_on_host: " + Quote(dir_) + " is a directory");
  ExpectFault(
      Request(api, "PUT", "/drives/rootfs",
              R"({"drive_id": "rootfs", "is_read_only": true, "path_on_host": ")" + dir_ + "\"}"),
      "is a directory");
  ExpectFault(
      Request(api, "PUT", "/boot-source", R"({"kernel_image_path": ")" + Path("nokernel") + "\"}"),
      "kernel_image_path: open \"" + Path("nokernel") + "\": No such file");
  ExpectFault(
      Request(api, "PUT", "/boot-source",
              R"({"kernel_image_path": ")" + Path("k") + R"(", "initrd_path": ")" + dir_ + "\"}"),
      "initrd_path: " + Quote(dir_) + " is a directory");
}

TEST_F(VmmApiConfig, ReadWriteDrivesMustBeWritable) {
  VmmApi api({});
  // A file this process cannot open for writing: mode 0444, or (as root, which ignores modes) a
  // sysfs file without a write method.
  std::string unwritable = Path("readonly.img");
  ASSERT_TRUE(linux::WriteFile(unwritable, "x"));
  ASSERT_EQ(::chmod(unwritable.c_str(), 0444), 0);
  auto opens = [](const std::string& path, int flags) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
    return fd >= 0;
  };
  if (opens(unwritable, O_RDWR)) unwritable = "/sys/kernel/notes";
  if (!opens(unwritable, O_RDONLY) || opens(unwritable, O_RDWR))
    GTEST_SKIP() << "no readable but unwritable regular file to test with";
  ExpectFault(
      Request(api, "PUT", "/drives/data",
              R"({"drive_id": "data", "path_on_host": ")" + unwritable + "\"}"),
      "drive \"data\": path_on_host: open " + Quote(unwritable) + " read-write: Permission denied");
  EXPECT_EQ(Request(api, "PUT", "/drives/data",
                    R"({"drive_id": "data", "is_read_only": true, "path_on_host": ")" + unwritable +
                        "\"}")
                .status,
            204)
      << "read-only drives need only read access";
}

TEST_F(VmmApiConfig, TapNamesAreCheckedWhenPut) {
  VmmApi api({});
  ExpectFault(
      Request(api, "PUT", "/network-interfaces/eth0",
              R"({"iface_id": "eth0", "host_dev_name": "a-name-of-sixteen"})"),
      "network interface \"eth0\": host_dev_name: \"a-name-of-sixteen\" is longer than 15 bytes");
  ExpectFault(Request(api, "PUT", "/network-interfaces/eth0",
                      R"({"iface_id": "eth0", "host_dev_name": ""})"),
              "network interface \"eth0\": host_dev_name");
  ExpectFault(
      Request(api, "PUT", "/network-interfaces/", R"({"iface_id": "", "host_dev_name": "tap0"})"),
      "iface_id: must not be empty");
  EXPECT_EQ(
      Request(api, "PUT", "/network-interfaces/b", R"({"iface_id": "b", "host_dev_name": "tap1"})")
          .status,
      204);
  EXPECT_EQ(
      Request(api, "PUT", "/network-interfaces/a", R"({"iface_id": "a", "host_dev_name": "tap0"})")
          .status,
      204);
  ExpectFault(
      Request(api, "PUT", "/network-interfaces/c", R"({"iface_id": "c", "host_dev_name": "tap0"})"),
      "network interface \"c\": host_dev_name: tap \"tap0\" is already used by interface \"a\"");
  ASSERT_EQ(api.config().nets.size(), 2u);
  EXPECT_EQ(api.config().nets[0].tap, "tap1") << "in the order they were put";
}

TEST_F(VmmApiConfig, DisksAndNetsFromFlagsAreKept) {
  VmConfig initial;
  initial.disks.push_back({Path("a.img"), true});
  initial.nets.push_back({"tap7", ""});
  VmmApi api(initial);
  EXPECT_EQ(Request(api, "PUT", "/drives/extra", Drive("extra", "b.img")).status, 204);
  EXPECT_EQ(Request(api, "PUT", "/network-interfaces/eth1",
                    R"({"iface_id": "eth1", "host_dev_name": "tap8"})")
                .status,
            204);
  ASSERT_EQ(api.config().disks.size(), 2u);
  EXPECT_EQ(api.config().disks[0].path, Path("a.img"));
  EXPECT_TRUE(api.config().disks[0].read_only);
  EXPECT_EQ(api.config().disks[1].path, Path("b.img"));
  ASSERT_EQ(api.config().nets.size(), 2u);
  EXPECT_EQ(api.config().nets[0].tap, "tap7");
  // --disk and --net devices have the ids disk0.., net0..: a PUT replaces one.
  EXPECT_EQ(Request(api, "PUT", "/drives/disk0", Drive("disk0", "c.img")).status, 204);
  ASSERT_EQ(api.config().disks.size(), 2u);
  EXPECT_EQ(api.config().disks[0].path, Path("c.img"));
  EXPECT_FALSE(api.config().disks[0].read_only);
}

// PATCH is validated as a whole, as PUT is: a configuration that cannot start (here a --net
// tap name that is too long) is not made to look accepted.
TEST_F(VmmApiConfig, PatchIsValidatedAsPutIs) {
  VmConfig initial;
  initial.nets.push_back({"a-name-of-sixteen", ""});
  VmmApi api(initial);
  const std::string expected = "\"a-name-of-sixteen\" is longer than 15 bytes";
  ExpectFault(Request(api, "PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 64})"),
              expected);
  ExpectFault(Request(api, "PATCH", "/machine-config", R"({"vcpu_count": 2})"), expected);
  EXPECT_EQ(api.config().cpus, 1u) << "failed requests change nothing";
}

TEST_F(VmmApiConfig, MachineConfigCanBeReadAndPatched) {
  VmmApi api({});
  auto get = [&] {
    HttpResponse r = Request(api, "GET", "/machine-config");
    EXPECT_EQ(r.status, 200);
    return nlohmann::json::parse(r.body, nullptr, false);
  };
  auto config = get();
  EXPECT_EQ(config["vcpu_count"], 1);
  EXPECT_EQ(config["mem_size_mib"], 128);
  EXPECT_EQ(config["smt"], false);
  EXPECT_EQ(config["track_dirty_pages"], false);
  EXPECT_EQ(config["huge_pages"], "None");
  EXPECT_EQ(Request(api, "PATCH", "/machine-config", R"({"vcpu_count": 3})").status, 204);
  config = get();
  EXPECT_EQ(config["vcpu_count"], 3);
  EXPECT_EQ(config["mem_size_mib"], 128) << "PATCH changes only what it names";
  EXPECT_EQ(Request(api, "PATCH", "/machine-config", R"({"mem_size_mib": 256, "huge_pages": "2M"})")
                .status,
            204);
  config = get();
  EXPECT_EQ(config["vcpu_count"], 3);
  EXPECT_EQ(config["mem_size_mib"], 256);
  EXPECT_EQ(config["huge_pages"], "2M");
  ExpectFault(Request(api, "PATCH", "/machine-config", R"({"vcpu_count": "four"})"),
              "vcpu_count: expected unsigned");
  ExpectFault(Request(api, "PATCH", "/machine-config", R"({"vcpu_count": 0})"),
              "vcpu_count: 0 is out of range");
  ExpectFault(Request(api, "PATCH", "/machine-config", R"({"cpus": 2})"), "cpus: unknown field");
  ExpectFault(Request(api, "PATCH", "/machine-config", R"({"mem_size_mib": 7})"),
              "mem_size_mib: 7 MiB is not a multiple of 2 MiB");
  EXPECT_EQ(get()["mem_size_mib"], 256) << "failed requests change nothing";
  // PUT replaces the whole machine configuration, as Firecracker's does.
  EXPECT_EQ(
      Request(api, "PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 64})").status,
      204);
  EXPECT_EQ(get()["huge_pages"], "None");
  EXPECT_EQ(Request(api, "PATCH", "/drives/x", "{}").status, 404);
}

}  // namespace
}  // namespace hull::vmm::api
