#include "vmm/api/vmm_api.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "base/version.h"
#include "vmm/api/request_body.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/seccomp_filter.h"

namespace hull::vmm::api {
namespace {

using Json = nlohmann::json;

HttpResponse FromError(const Error& error) { return Fault(400, error.ToString()); }

Json ConfigJson(const VmConfig& c) {
  Json drives = Json::array(), nets = Json::array();
  for (const DiskConfig& d : c.disks)
    drives.push_back({{"path", d.path}, {"readonly", d.read_only}});
  for (const NetConfig& n : c.nets) nets.push_back({{"tap", n.tap}, {"mac", n.mac}});
  Json out = {{"boot",
               {{"kernel", c.boot.kernel_path},
                {"initrd", c.boot.initrd_path},
                {"cmdline", c.boot.cmdline}}},
              {"machine",
               {{"cpus", c.cpus},
                {"memory_mib", c.memory_mib},
                {"hugepages", c.hugepages},
                {"memfd", c.memfd},
                {"acpi", c.acpi}}},
              {"drives", drives},
              {"network_interfaces", nets},
              {"rng", c.rng}};
  if (c.vsock) out["vsock"] = {{"guest_cid", c.vsock->guest_cid}, {"uds_path", c.vsock->uds_path}};
  return out;
}

Json MachineJson(const VmConfig& c) {
  return {{"vcpu_count", c.cpus},
          {"mem_size_mib", c.memory_mib},
          {"smt", false},
          {"track_dirty_pages", false},
          {"huge_pages", c.hugepages ? "2M" : "None"}};
}

// Drive and interface ids: what Firecracker allows, plus '-'.
constexpr size_t kMaxIdBytes = 64;
Result<void> ValidateId(const char* field, const std::string& id) {
  if (id.empty()) return Fail(std::string(field) + ": must not be empty");
  if (id.size() > kMaxIdBytes)
    return Fail(std::string(field) + " " + Quote(id) + ": longer than " +
                std::to_string(kMaxIdBytes) + " bytes");
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      return Fail(std::string(field) + " " + Quote(id) +
                  ": only letters, digits, '_' and '-' are allowed");
  }
  return {};
}

// A host file the VM will open: it must be a regular file that opens with the access the VM
// needs, checked now so that the request, not InstanceStart, reports the problem.
Result<void> CheckFile(const std::string& path, bool writable) {
  if (path.empty()) return Fail("must not be empty");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Fail(Quote(path) + " is a directory");
    if (!S_ISREG(st.st_mode)) return Fail(Quote(path) + " is not a regular file");
  }
  int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return FailErrno("open " + Quote(path) + (writable ? " read-write" : ""));
  ::close(fd);
  return {};
}

}  // namespace

VmConfig VmmApi::Collected::Config() const {
  VmConfig config = settings;
  for (const Drive& drive : drives)
    if (drive.root) config.disks.push_back(drive.disk);
  for (const Drive& drive : drives)
    if (!drive.root) config.disks.push_back(drive.disk);
  for (const Interface& iface : nets) config.nets.push_back(iface.net);
  return config;
}

VmmApi::VmmApi(VmConfig initial) {
  for (size_t i = 0; i < initial.disks.size(); ++i)
    collected_.drives.push_back({"disk" + std::to_string(i), std::move(initial.disks[i]), false});
  for (size_t i = 0; i < initial.nets.size(); ++i)
    collected_.nets.push_back({"net" + std::to_string(i), std::move(initial.nets[i])});
  initial.disks.clear();
  initial.nets.clear();
  collected_.settings = std::move(initial);
}

std::string VmmApi::StateName() const {
  if (!vm_) return "Not started";
  return vm_->paused() ? "Paused" : "Running";
}

HttpResponse VmmApi::Handle(const HttpRequest& request) {
  if (request.method == "GET" && request.path == "/") {
    return {
        200,
        Json{{"id", "hull-vmm"}, {"state", StateName()}, {"vmm_version", hull::kVersion}}.dump()};
  }
  if (request.method == "GET" && request.path == "/vm/config")
    return {200, ConfigJson(config()).dump()};
  if (request.method == "GET" && request.path == "/machine-config")
    return {200, MachineJson(collected_.settings).dump()};
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
  if (request.method == "PUT" || request.method == "PATCH") return Configure(request);
  if (request.method == "GET") return Fault(404, "no such resource: " + request.path);
  return Fault(405, "method " + request.method + " is not supported");
}

Result<void> VmmApi::PutBootSource(const std::string& body, VmConfig& next) {
  RequestBody b = TRY(RequestBody::Parse(body, {"kernel_image_path", "initrd_path", "boot_args"}));
  next.boot.kernel_path = TRY(b.String("kernel_image_path"));
  TRY_CTX(CheckFile(next.boot.kernel_path, /*writable=*/false), "kernel_image_path");
  next.boot.initrd_path = TRY(b.OptionalString("initrd_path")).value_or("");
  if (!next.boot.initrd_path.empty())
    TRY_CTX(CheckFile(next.boot.initrd_path, /*writable=*/false), "initrd_path");
  next.boot.cmdline = TRY(b.OptionalString("boot_args")).value_or("");
  return {};
}

Result<void> VmmApi::UpdateMachine(const std::string& body, bool replace, VmConfig& next) {
  RequestBody b = TRY(RequestBody::Parse(
      body, {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "huge_pages"}));
  std::optional<uint64_t> cpus =
      replace ? TRY(b.Unsigned("vcpu_count")) : TRY(b.OptionalUnsigned("vcpu_count"));
  std::optional<uint64_t> memory =
      replace ? TRY(b.Unsigned("mem_size_mib")) : TRY(b.OptionalUnsigned("mem_size_mib"));
  if (cpus) TRY(CheckVcpuCount(*cpus, "vcpu_count"));
  if (memory) TRY(CheckMemoryMib(*memory, /*hugepages=*/false, "mem_size_mib"));
  if (TRY(b.OptionalBool("smt")).value_or(false))
    return Fail(
        "smt: simultaneous multithreading is not supported (every vCPU is a core of its own)");
  if (TRY(b.OptionalBool("track_dirty_pages")).value_or(false))
    return Fail(
        "track_dirty_pages: dirty page tracking is not supported (hull-vmm takes no snapshots)");
  std::optional<std::string> huge = TRY(b.OptionalString("huge_pages"));
  if (huge && *huge != "None" && *huge != "2M")
    return Fail("huge_pages: expected \"None\" or \"2M\", got " + Quote(*huge));
  if (cpus) next.cpus = static_cast<uint32_t>(*cpus);
  if (memory) next.memory_mib = *memory;
  if (huge)
    next.hugepages = *huge == "2M";
  else if (replace)
    next.hugepages = false;  // PUT: what is left out takes its default
  TRY(CheckMemoryMib(next.memory_mib, next.hugepages, "mem_size_mib"));
  return {};
}

Result<void> VmmApi::PutDrive(const std::string& id, const std::string& body,
                              std::vector<Drive>& drives) {
  TRY(ValidateId("drive_id", id));
  auto apply = [&]() -> Result<void> {
    RequestBody b = TRY(RequestBody::Parse(
        body, {"drive_id", "path_on_host", "is_read_only", "is_root_device", "rate_limiter"}));
    if (TRY(b.String("drive_id")) != id) return Fail("drive_id: does not match the path");
    Drive drive{
        id,
        {TRY(b.String("path_on_host")), TRY(b.OptionalBool("is_read_only")).value_or(false)},
        TRY(b.OptionalBool("is_root_device")).value_or(false)};
    TRY(b.CheckNoRateLimiter("rate_limiter"));
    TRY_CTX(CheckFile(drive.disk.path, !drive.disk.read_only), "path_on_host");
    auto same =
        std::find_if(drives.begin(), drives.end(), [&](const Drive& d) { return d.id == id; });
    if (drive.root) {
      for (const Drive& other : drives)
        if (other.root && other.id != id)
          return Fail("is_root_device: drive " + Quote(other.id) + " is already the root device");
    }
    if (same != drives.end())
      *same = std::move(drive);  // an update keeps its place
    else
      drives.push_back(std::move(drive));
    return {};
  };
  TRY_CTX(apply(), "drive " + Quote(id));
  return {};
}

Result<void> VmmApi::PutInterface(const std::string& id, const std::string& body,
                                  std::vector<Interface>& nets) {
  TRY(ValidateId("iface_id", id));
  auto apply = [&]() -> Result<void> {
    RequestBody b = TRY(RequestBody::Parse(
        body, {"iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter", "tx_rate_limiter"}));
    if (TRY(b.String("iface_id")) != id) return Fail("iface_id: does not match the path");
    Interface iface{
        id, {TRY(b.String("host_dev_name")), TRY(b.OptionalString("guest_mac")).value_or("")}};
    TRY_CTX(ValidateTapName(iface.net.tap), "host_dev_name");
    if (!iface.net.mac.empty()) TRY_CTX(virtio::ParseMac(iface.net.mac), "guest_mac");
    TRY(b.CheckNoRateLimiter("rx_rate_limiter"));
    TRY(b.CheckNoRateLimiter("tx_rate_limiter"));
    for (const Interface& other : nets) {
      if (other.id != id && other.net.tap == iface.net.tap)
        return Fail("host_dev_name: tap " + Quote(iface.net.tap) +
                    " is already used by interface " + Quote(other.id));
    }
    auto same =
        std::find_if(nets.begin(), nets.end(), [&](const Interface& n) { return n.id == id; });
    if (same != nets.end())
      *same = std::move(iface);
    else
      nets.push_back(std::move(iface));
    return {};
  };
  TRY_CTX(apply(), "network interface " + Quote(id));
  return {};
}

Result<void> VmmApi::PutVsock(const std::string& body, VmConfig& next) {
  RequestBody b = TRY(RequestBody::Parse(body, {"guest_cid", "uds_path", "vsock_id"}));
  uint64_t cid = TRY(b.Unsigned("guest_cid"));
  TRY(CheckGuestCid(cid, "guest_cid"));
  std::string uds_path = TRY(b.String("uds_path"));
  if (uds_path.empty()) return Fail("uds_path: must not be empty");
  // The socket is created at InstanceStart; its directory must exist now.
  size_t slash = uds_path.rfind('/');
  std::string directory = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : uds_path.substr(0, slash);
  struct stat st;
  if (::stat(directory.c_str(), &st) < 0)
    return FailErrno("uds_path: directory " + Quote(directory));
  if (!S_ISDIR(st.st_mode)) return Fail("uds_path: " + Quote(directory) + " is not a directory");
  TRY(b.OptionalString("vsock_id"));  // accepted for compatibility; hull-vmm has one vsock
  next.vsock = VsockConfig{cid, std::move(uds_path)};
  return {};
}

HttpResponse VmmApi::Configure(const HttpRequest& request) {
  const std::string& path = request.path;
  const std::string& body = request.body;
  // PATCH: /machine-config only, changing what it names; PUT: any resource, replacing it.
  bool patch = request.method == "PATCH";
  bool known =
      path == "/machine-config" ||
      (!patch && (path == "/boot-source" || path == "/vsock" || path == "/entropy" ||
                  StartsWith(path, "/drives/") || StartsWith(path, "/network-interfaces/")));
  if (!known) return Fault(404, "no such resource: " + path);
  if (vm_)
    return Fault(400, "the VM has started; " + path + " can only be set before InstanceStart");
  auto apply = [&]() -> Result<void> {
    Collected next = collected_;
    if (path == "/boot-source") {
      TRY(PutBootSource(body, next.settings));
    } else if (path == "/machine-config") {
      TRY(UpdateMachine(body, /*replace=*/!patch, next.settings));
    } else if (StartsWith(path, "/drives/")) {
      TRY(PutDrive(path.substr(8), body, next.drives));
    } else if (StartsWith(path, "/network-interfaces/")) {
      TRY(PutInterface(path.substr(20), body, next.nets));
    } else if (path == "/vsock") {
      TRY(PutVsock(body, next.settings));
    } else if (path == "/entropy") {
      RequestBody b = TRY(RequestBody::Parse(body, {"rate_limiter"}));
      TRY(b.CheckNoRateLimiter("rate_limiter"));
      next.settings.rng = true;
    }
    // Check everything but the not-yet-given kernel.
    VmConfig check = next.Config();
    if (check.boot.kernel_path.empty()) check.boot.kernel_path = "-";
    TRY(ValidateConfig(check));
    collected_ = std::move(next);
    return {};
  };
  if (auto r = apply(); !r) return FromError(r.error());
  return {204, ""};
}

Result<void> VmmApi::Start() {
  if (vm_) return Fail("the VM has already started");
  vm_ = TRY(Vm::Create(config()));
  return {};
}

HttpResponse VmmApi::Action(const std::string& body) {
  auto parsed = RequestBody::Parse(body, {"action_type"});
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
  auto parsed = RequestBody::Parse(body, {"state"});
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
  if (path.size() >= sizeof(address.sun_path))
    return Fail("API socket path " + Quote(path) + " is too long");
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
    if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
            static_cast<ssize_t>(out.size()) ||
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
  SeccompMode seccomp = TRY(ParseSeccompMode(initial.seccomp));
  VmmApi api(std::move(initial));
  std::unique_ptr<ApiServer> server = TRY(ApiServer::Listen(api_socket, api));
  // Requests are untrusted input: confined to what building a VM needs before the first is read
  // (Vm::Run() narrows this further once the VM runs).
  TRY(InstallSeccompFilter(seccomp, SeccompPhase::kSetup));
  if (start_now) TRY(api.Start());
  {
    int signal_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0) return FailErrno("signalfd");
    linux::UniqueFd signals(signal_fd);
    while (api.vm() == nullptr) {
      std::vector<pollfd> fds = {{signal_fd, POLLIN, 0}};
      for (int fd : server->PollFds()) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return FailErrno("poll");
      if (fds[0].revents & POLLIN)
        return VmOutcome{StopReason::kSignal, 0, "stopped before the VM started"};
      for (size_t i = 1; i < fds.size(); ++i)
        if (fds[i].revents != 0) server->HandleReadable(fds[i].fd);
    }
  }
  return api.vm()->Run(server.get());
}

}  // namespace hull::vmm::api
