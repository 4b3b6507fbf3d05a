// VmmApi: hull-vmm's REST API over a unix socket, in the spirit of Firecracker's: the VM is
// described piece by piece before it starts, then started, paused, resumed and sent
// Ctrl-Alt-Del. Bodies are JSON; unknown fields, wrong types and unsupported values are 400
// errors whose {"fault_message": ...} names the field (and the drive or interface id). Host
// resources are checked when they are put: kernel, initrd and drive files must open as they
// will be used (a read-write drive must be writable), tap names must fit IFNAMSIZ.
//
//   GET   /                         {"id", "state": "Not started"|"Running"|"Paused",
//   "vmm_version"} GET   /vm/config                the configuration, in the --config file format
//   GET   /metrics                  {"state", "uptime_ms", "vcpu_exits": {"io", "mmio", "other"},
//                                    "console_bytes", "console_dropped_bytes"}
//   PUT   /boot-source              {"kernel_image_path", "initrd_path", "boot_args"}
//   GET   /machine-config           {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
//                                    "huge_pages"}
//   PUT   /machine-config           the same; vcpu_count and mem_size_mib required, the others
//                                    reset to their defaults when left out (as Firecracker's)
//   PATCH /machine-config           the same, every field optional: changes only those given
//                                    (smt and track_dirty_pages: only false; huge_pages:
//                                    "None" or "2M")
//   PUT   /drives/{id}              {"drive_id", "path_on_host", "is_read_only", "is_root_device",
//                                    "rate_limiter"}; drives keep the order they were first put
//                                    in, the root device first
//   PUT   /network-interfaces/{id}  {"iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter",
//                                    "tx_rate_limiter"}
//   PUT   /vsock                    {"guest_cid", "uds_path", "vsock_id"}
//   PUT   /entropy                  {"rate_limiter"}
//   PUT   /actions                  {"action_type": "InstanceStart" | "SendCtrlAltDel"}
//   PATCH /vm                       {"state": "Paused" | "Resumed"}
//
// Rate limiters are accepted only when they limit nothing (null or {}). Disks and taps given by
// flags (--disk, --net) are kept, with the ids disk0, disk1, ... and net0, net1, ...
//
// Thread-safety: used from the event loop thread only.
#pragma once

#include <map>
#include <memory>
#include <optional>
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
  // Starts from `initial` (flags or a config file); its disks and nets become drives disk0..
  // and interfaces net0.. .
  explicit VmmApi(VmConfig initial);

  // A drive or network interface as the API knows it: by id.
  struct Drive {
    std::string id;
    DiskConfig disk;
    bool root = false;
  };
  struct Interface {
    std::string id;
    NetConfig net;
  };

  HttpResponse Handle(const HttpRequest& request);

  // Builds the VM from the collected configuration (what InstanceStart does).
  [[nodiscard]] Result<void> Start();
  Vm* vm() { return vm_.get(); }
  // The collected configuration, as Start() would use it.
  VmConfig config() const { return collected_.Config(); }

 private:
  // PUT of a resource that describes the VM, PATCH of /machine-config: before the start only,
  // validated as a whole (ValidateConfig) and kept only when valid.
  HttpResponse Configure(const HttpRequest& request);
  HttpResponse Action(const std::string& body);
  HttpResponse PatchVm(const std::string& body);
  std::string StateName() const;
  // What the requests have set so far: the drives and interfaces by id, in the order first put,
  // and everything else in `settings` (whose disks and nets stay empty).
  struct Collected {
    VmConfig settings;
    std::vector<Drive> drives;
    std::vector<Interface> nets;
    // `settings` with the drives (the root device first, then the others in order) and the
    // interfaces.
    VmConfig Config() const;
  };

  // Each applies one request to `next` (or the drive/interface list), or fails naming the
  // field; nothing is kept unless the whole request is valid.
  [[nodiscard]] Result<void> PutBootSource(const std::string& body, VmConfig& next);
  [[nodiscard]] Result<void> UpdateMachine(const std::string& body, bool replace, VmConfig& next);
  [[nodiscard]] Result<void> PutDrive(const std::string& id, const std::string& body,
                                      std::vector<Drive>& drives);
  [[nodiscard]] Result<void> PutInterface(const std::string& id, const std::string& body,
                                          std::vector<Interface>& nets);
  [[nodiscard]] Result<void> PutVsock(const std::string& body, VmConfig& next);

  Collected collected_;
  std::unique_ptr<Vm> vm_;
};

// ApiServer: the unix socket listener and its clients, served from an event loop.
class ApiServer : public EventSource {
 public:
  // Listens on `path` (replacing a stale socket); errors name it.
  [[nodiscard]] static Result<std::unique_ptr<ApiServer>> Listen(const std::string& path,
                                                                 VmmApi& api);
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
// Everything after the socket is bound runs under the set-up seccomp allow-list
// (seccomp_filter.h), then the run allow-list once the VM runs.
[[nodiscard]] Result<VmOutcome> RunWithApi(const std::string& api_socket, VmConfig initial,
                                           bool start_now);

}  // namespace hull::vmm::api
