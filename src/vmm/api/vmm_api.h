// VmmApi: hull-vmm's REST API over a unix socket, in the spirit of Firecracker's: the VM is
// described piece by piece before it starts, then started, paused, resumed and sent
// Ctrl-Alt-Del. Bodies are JSON; unknown fields and wrong types are 400 errors whose
// fault_message names the field.
//
//   GET   /                         {"id", "state": "Not started"|"Running"|"Paused",
//   "vmm_version"} GET   /vm/config                the configuration, in the --config file format
//   GET   /metrics                  {"state", "uptime_ms", "vcpu_exits": {"io", "mmio", "other"},
//                                    "console_bytes", "console_dropped_bytes"}
//   PUT   /boot-source              {"kernel_image_path", "initrd_path", "boot_args"}
//   PUT   /machine-config           {"vcpu_count", "mem_size_mib"}
//   PUT   /drives/{id}              {"drive_id", "path_on_host", "is_read_only", "is_root_device"}
//   PUT   /network-interfaces/{id}  {"iface_id", "host_dev_name", "guest_mac"}
//   PUT   /vsock                    {"guest_cid", "uds_path", "vsock_id"}
//   PUT   /entropy                  {}
//   PUT   /actions                  {"action_type": "InstanceStart" | "SendCtrlAltDel"}
//   PATCH /vm                       {"state": "Paused" | "Resumed"}
//
// Thread-safety: used from the event loop thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"
#include "vmm/api/http.h"
#include "vmm/config.h"
#include "vmm/vm.h"

namespace hull::vmm::api {

class VmmApi {
 public:
  explicit VmmApi(VmConfig initial) : config_(std::move(initial)) {}

  HttpResponse Handle(const HttpRequest& request);

  // Builds the VM from the collected configuration (what InstanceStart does).
  [[nodiscard]] Result<void> Start();
  Vm* vm() { return vm_.get(); }
  const VmConfig& config() const { return config_; }

 private:
  HttpResponse Put(const std::string& path, const std::string& body);
  HttpResponse Action(const std::string& body);
  HttpResponse PatchVm(const std::string& body);
  std::string StateName() const;

  VmConfig config_;
  std::map<std::string, DiskConfig> drives_;  // by drive_id, in config_.disks order of ids
  std::map<std::string, NetConfig> nets_;
  std::unique_ptr<Vm> vm_;
};

// ApiServer: the unix socket listener and its clients, served from an event loop.
class ApiServer : public EventSource {
 public:
  // Listens on `path` (replacing a stale socket); errors name it.
  [[nodiscard]] static Result<std::unique_ptr<ApiServer>> Listen(const std::string& path, VmmApi& api);
  ~ApiServer() override;

  std::vector<int> PollFds() override;
  void HandleReadable(int fd) override;

 private:
  ApiServer(std::string path, linux::UniqueFd listener, VmmApi& api)
      : path_(std::move(path)), listener_(std::move(listener)), api_(api) {}

  std::string path_;
  linux::UniqueFd listener_;
  VmmApi& api_;
  struct Client {
    linux::UniqueFd fd;
    std::string buffer;
  };
  std::map<int, Client> clients_;
};

// Serves the API on `api_socket` until InstanceStart (or at once when `start_now`), then runs
// the VM with the API still served. SIGTERM/SIGINT before the start end it with status 0.
[[nodiscard]] Result<VmOutcome> RunWithApi(const std::string& api_socket, VmConfig initial,
                                           bool start_now);

}  // namespace hull::vmm::api
