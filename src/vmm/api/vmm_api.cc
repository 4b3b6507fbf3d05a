#include "vmm/api/vmm_api.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "base/version.h"
#include "vmm/devices/virtio/net.h"

namespace hull::vmm::api {
namespace {

using Json = nlohmann::json;

// Field access with errors that name the field.
class Body {
 public:
  static Result<Body> Parse(const std::string& text, std::initializer_list<std::string_view> known) {
    Json json = Json::parse(text.empty() ? "{}" : text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return Fail("invalid JSON body");
    if (!json.is_object()) return Fail("expected a JSON object");
    for (const auto& [key, value] : json.items()) {
      bool found = false;
      for (std::string_view k : known) found = found || k == key;
      if (!found) return Fail(key + ": unknown field");
    }
    return Body(std::move(json));
  }
  bool Has(const char* key) const { return json_.contains(key); }
  Result<std::string> String(const char* key) const {
    if (!json_.contains(key)) return Fail(std::string(key) + ": required");
    if (!json_[key].is_string()) return Fail(std::string(key) + ": expected string");
    return json_[key].get<std::string>();
  }
  Result<uint64_t> Unsigned(const char* key) const {
    if (!json_.contains(key)) return Fail(std::string(key) + ": required");
    if (!json_[key].is_number_unsigned()) return Fail(std::string(key) + ": expected unsigned integer");
    return json_[key].get<uint64_t>();
  }
  Result<bool> Bool(const char* key) const {
    if (!json_.contains(key)) return Fail(std::string(key) + ": required");
    if (!json_[key].is_boolean()) return Fail(std::string(key) + ": expected boolean");
    return json_[key].get<bool>();
  }

 private:
  explicit Body(Json json) : json_(std::move(json)) {}
  Json json_;
};

HttpResponse FromError(const Error& error) { return Fault(400, error.ToString()); }

Json ConfigJson(const VmConfig& c) {
  Json drives = Json::array(), nets = Json::array();
  for (const DiskConfig& d : c.disks) drives.push_back({{"path", d.path}, {"readonly", d.read_only}});
  for (const NetConfig& n : c.nets) nets.push_back({{"tap", n.tap}, {"mac", n.mac}});
  Json out = {{"boot", {{"kernel", c.boot.kernel_path}, {"initrd", c.boot.initrd_path}, {"cmdline", c.boot.cmdline}}},
              {"machine", {{"cpus", c.cpus}, {"memory_mib", c.memory_mib}, {"hugepages", c.hugepages},
                           {"memfd", c.memfd}, {"acpi", c.acpi}}},
              {"drives", drives},
              {"network_interfaces", nets},
              {"rng", c.rng}};
  if (c.vsock) out["vsock"] = {{"guest_cid", c.vsock->guest_cid}, {"uds_path", c.vsock->uds_path}};
  return out;
}

}  // namespace

std::string VmmApi::StateName() const {
  if (!vm_) return "Not started";
  return vm_->paused() ? "Paused" : "Running";
}

HttpResponse VmmApi::Handle(const HttpRequest& request) {
  if (request.method == "GET" && request.path == "/") {
    return {200, Json{{"id", "hull-vmm"}, {"state", StateName()}, {"vmm_version", hull::kVersion}}.dump()};
  }
  if (request.method == "GET" && request.path == "/vm/config") return {200, ConfigJson(config_).dump()};
  if (request.method == "GET" && request.path == "/metrics") {
    if (!vm_) return {200, Json{{"state", StateName()}}.dump()};
    Vm::Metrics m = vm_->GetMetrics();
    return {200, Json{{"state", StateName()},
                      {"uptime_ms", m.uptime_ms},
                      {"vcpu_exits",
                       {{"io", m.io_exits}, {"mmio", m.mmio_exits}, {"other", m.other_exits}}},
                      {"console_bytes", m.console_bytes},
                      {"console_dropped_bytes", m.console_dropped_bytes}}
                     .dump()};
  }
  if (request.method == "PUT" && request.path == "/actions") return Action(request.body);
  if (request.method == "PATCH" && request.path == "/vm") return PatchVm(request.body);
  if (request.method == "PUT") return Put(request.path, request.body);
  if (request.method == "GET" || request.method == "PATCH") return Fault(404, "no such resource: " + request.path);
  return Fault(405, "method " + request.method + " is not supported");
}

HttpResponse VmmApi::Put(const std::string& path, const std::string& body) {
  bool known = path == "/boot-source" || path == "/machine-config" || path == "/vsock" ||
               path == "/entropy" || StartsWith(path, "/drives/") || StartsWith(path, "/network-interfaces/");
  if (!known) return Fault(404, "no such resource: " + path);
  if (vm_) return Fault(400, "the VM has started; " + path + " can only be set before InstanceStart");
  auto apply = [&]() -> Result<void> {
    VmConfig next = config_;
    if (path == "/boot-source") {
      Body b = TRY(Body::Parse(body, {"kernel_image_path", "initrd_path", "boot_args"}));
      next.boot.kernel_path = TRY(b.String("kernel_image_path"));
      next.boot.initrd_path = b.Has("initrd_path") ? TRY(b.String("initrd_path")) : "";
      next.boot.cmdline = b.Has("boot_args") ? TRY(b.String("boot_args")) : "";
    } else if (path == "/machine-config") {
      Body b = TRY(Body::Parse(body, {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages"}));
      uint64_t cpus = TRY(b.Unsigned("vcpu_count"));
      if (cpus < 1 || cpus > kMaxVcpus) return Fail("vcpu_count: " + std::to_string(cpus) + " is out of range 1.." + std::to_string(kMaxVcpus));
      uint64_t memory = TRY(b.Unsigned("mem_size_mib"));
      if (memory < kMinMemoryMib || memory > kMaxMemoryMib)
        return Fail("mem_size_mib: " + std::to_string(memory) + " is out of range " + std::to_string(kMinMemoryMib) + ".." + std::to_string(kMaxMemoryMib));
      next.cpus = static_cast<uint32_t>(cpus);
      next.memory_mib = memory;
    } else if (StartsWith(path, "/drives/")) {
      std::string id = path.substr(8);
      Body b = TRY(Body::Parse(body, {"drive_id", "path_on_host", "is_read_only", "is_root_device"}));
      if (TRY(b.String("drive_id")) != id) return Fail("drive_id: does not match the path");
      DiskConfig disk{TRY(b.String("path_on_host")), b.Has("is_read_only") ? TRY(b.Bool("is_read_only")) : false};
      drives_[id] = disk;
      next.disks.clear();
      for (const auto& [key, d] : drives_) next.disks.push_back(d);
    } else if (StartsWith(path, "/network-interfaces/")) {
      std::string id = path.substr(20);
      Body b = TRY(Body::Parse(body, {"iface_id", "host_dev_name", "guest_mac"}));
      if (TRY(b.String("iface_id")) != id) return Fail("iface_id: does not match the path");
      NetConfig net{TRY(b.String("host_dev_name")), b.Has("guest_mac") ? TRY(b.String("guest_mac")) : ""};
      if (!net.mac.empty()) TRY_CTX(virtio::ParseMac(net.mac), "guest_mac");
      nets_[id] = net;
      next.nets.clear();
      for (const auto& [key, n] : nets_) next.nets.push_back(n);
    } else if (path == "/vsock") {
      Body b = TRY(Body::Parse(body, {"guest_cid", "uds_path", "vsock_id"}));
      next.vsock = VsockConfig{TRY(b.Unsigned("guest_cid")), TRY(b.String("uds_path"))};
    } else if (path == "/entropy") {
      TRY(Body::Parse(body, {"rate_limiter"}));
      next.rng = true;
    }
    // Check everything but the not-yet-given kernel.
    VmConfig check = next;
    if (check.boot.kernel_path.empty()) check.boot.kernel_path = "-";
    TRY(ValidateConfig(check));
    config_ = std::move(next);
    return {};
  };
  if (auto r = apply(); !r) return FromError(r.error());
  return {204, ""};
}

Result<void> VmmApi::Start() {
  if (vm_) return Fail("the VM has already started");
  vm_ = TRY(Vm::Create(config_));
  return {};
}

HttpResponse VmmApi::Action(const std::string& body) {
  auto parsed = Body::Parse(body, {"action_type"});
  if (!parsed) return FromError(parsed.error());
  auto type = parsed->String("action_type");
  if (!type) return FromError(type.error());
  if (*type == "InstanceStart") {
    if (auto r = Start(); !r) return FromError(r.error());
    return {204, ""};
  }
  if (*type == "SendCtrlAltDel") {
    if (!vm_) return Fault(400, "the VM has not started");
    vm_->SendCtrlAltDel();
    return {204, ""};
  }
  return Fault(400, "action_type: unknown action " + Quote(*type));
}

HttpResponse VmmApi::PatchVm(const std::string& body) {
  auto parsed = Body::Parse(body, {"state"});
  if (!parsed) return FromError(parsed.error());
  auto state = parsed->String("state");
  if (!state) return FromError(state.error());
  if (!vm_) return Fault(400, "the VM has not started");
  if (*state == "Paused") {
    if (auto r = vm_->Pause(); !r) return Fault(500, r.error().ToString());
    return {204, ""};
  }
  if (*state == "Resumed") {
    vm_->Resume();
    return {204, ""};
  }
  return Fault(400, "state: expected \"Paused\" or \"Resumed\"");
}

Result<std::unique_ptr<ApiServer>> ApiServer::Listen(const std::string& path, VmmApi& api) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return Fail("API socket path " + Quote(path) + " is too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return FailErrno("API socket");
  linux::UniqueFd listener(fd);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) < 0)
    return FailErrno("API socket: bind " + Quote(path));
  if (::listen(fd, 8) < 0) return FailErrno("API socket: listen " + Quote(path));
  return std::unique_ptr<ApiServer>(new ApiServer(path, std::move(listener), api));
}

ApiServer::~ApiServer() { ::unlink(path_.c_str()); }

std::vector<int> ApiServer::PollFds() {
  std::vector<int> fds = {listener_.get()};
  for (const auto& [fd, client] : clients_) fds.push_back(fd);
  return fds;
}

void ApiServer::HandleReadable(int fd) {
  if (fd == listener_.get()) {
    int client = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client >= 0) clients_[client] = Client{linux::UniqueFd(client), {}};
    return;
  }
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& client = it->second;
  char buffer[4096];
  ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    clients_.erase(it);
    return;
  }
  client.buffer.append(buffer, static_cast<size_t>(n));
  while (true) {
    auto request = TakeRequest(client.buffer);
    HttpResponse response;
    bool close_after = false;
    if (!request) {
      response = Fault(400, request.error().ToString());
      close_after = true;
    } else if (!*request) {
      return;  // wait for more
    } else {
      response = api_.Handle(**request);
    }
    std::string out = FormatResponse(response);
    // Responses are small; a client that does not read them is dropped.
    if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(out.size()) ||
        close_after) {
      clients_.erase(fd);
      return;
    }
  }
}

Result<VmOutcome> RunWithApi(const std::string& api_socket, VmConfig initial, bool start_now) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) return Fail("pthread_sigmask");
  VmmApi api(std::move(initial));
  std::unique_ptr<ApiServer> server = TRY(ApiServer::Listen(api_socket, api));
  if (start_now) TRY(api.Start());
  {
    int signal_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0) return FailErrno("signalfd");
    linux::UniqueFd signals(signal_fd);
    while (api.vm() == nullptr) {
      std::vector<pollfd> fds = {{signal_fd, POLLIN, 0}};
      for (int fd : server->PollFds()) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return FailErrno("poll");
      if (fds[0].revents & POLLIN) return VmOutcome{StopReason::kSignal, 0, "stopped before the VM started"};
      for (size_t i = 1; i < fds.size(); ++i)
        if (fds[i].revents != 0) server->HandleReadable(fds[i].fd);
    }
  }
  return api.vm()->Run(server.get());
}

}  // namespace hull::vmm::api
