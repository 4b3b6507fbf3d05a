// The API's HTTP parsing and the configuration it collects before the VM starts (no KVM).
#include <gtest/gtest.h>

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

TEST(VmmApiConfig, CollectsTheMachineBeforeStart) {
  VmmApi api({});
  EXPECT_EQ(Request(api, "PUT", "/boot-source",
                    R"({"kernel_image_path": "/k", "initrd_path": "/i", "boot_args": "console=ttyS0"})").status, 204);
  EXPECT_EQ(Request(api, "PUT", "/machine-config", R"({"vcpu_count": 4, "mem_size_mib": 512})").status, 204);
  EXPECT_EQ(Request(api, "PUT", "/drives/rootfs",
                    R"({"drive_id": "rootfs", "path_on_host": "/r.img", "is_read_only": true, "is_root_device": true})").status, 204);
  EXPECT_EQ(Request(api, "PUT", "/network-interfaces/eth0",
                    R"({"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:00:00:00:01"})").status, 204);
  EXPECT_EQ(Request(api, "PUT", "/vsock", R"({"guest_cid": 3, "uds_path": "/v.sock"})").status, 204);
  EXPECT_EQ(Request(api, "PUT", "/entropy", "{}").status, 204);
  const VmConfig& c = api.config();
  EXPECT_EQ(c.boot.kernel_path, "/k");
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
  EXPECT_NE(config.body.find("\"/r.img\""), std::string::npos);
}

TEST(VmmApiConfig, ErrorsNameTheField) {
  VmmApi api({});
  auto check = [&](std::string path, std::string body, std::string expected) {
    HttpResponse r = Request(api, "PUT", path, body);
    EXPECT_EQ(r.status, 400) << path << " " << body;
    EXPECT_NE(r.body.find(expected), std::string::npos) << r.body;
  };
  check("/boot-source", R"({"kernel_image": "/k"})", "kernel_image: unknown field");
  check("/boot-source", R"({"boot_args": "x"})", "kernel_image_path: required");
  check("/machine-config", R"({"vcpu_count": 300, "mem_size_mib": 64})", "vcpu_count: 300 is out of range");
  check("/machine-config", R"({"vcpu_count": 1, "mem_size_mib": "lots"})", "mem_size_mib: expected unsigned");
  check("/drives/a", R"({"drive_id": "b", "path_on_host": "/x"})", "drive_id: does not match");
  check("/network-interfaces/eth0", R"({"iface_id": "eth0", "host_dev_name": "t", "guest_mac": "zz"})", "guest_mac");
  check("/vsock", R"({"guest_cid": 1, "uds_path": "/v"})", "CID 1 is out of range");
  check("/machine-config", "{not json", "invalid JSON");
  EXPECT_EQ(Request(api, "PUT", "/nowhere", "{}").status, 404);
  EXPECT_EQ(Request(api, "DELETE", "/", "").status, 405);
  EXPECT_EQ(Request(api, "PATCH", "/vm", R"({"state": "Paused"})").status, 400) << "not started";
  EXPECT_EQ(Request(api, "PUT", "/actions", R"({"action_type": "Reboot"})").status, 400);
  EXPECT_EQ(api.config().cpus, 1u) << "failed requests change nothing";
}

}  // namespace
}  // namespace hull::vmm::api
