// Vsock: virtio socket device (device type 19) whose host side is unix sockets instead of
// /dev/vhost-vsock (which not every host has):
//  - guest to host: a guest connecting to CID 2 port P is connected to the unix socket
//    "<uds_path>_<P>" on the host (refused with RST if nothing listens there);
//  - host to guest: a host program connects to the unix socket <uds_path>, writes
//    "CONNECT <port>\n", and once the guest accepts reads "OK <host_port>\n"; the socket then
//    carries the stream.
// Stream sockets only (VIRTIO_VSOCK_TYPE_STREAM), with the protocol's credit-based flow control:
// the VMM buffers at most kBufferSize bytes per connection towards the host and sends the guest
// no more than the guest's advertised buffer space.
//
// Everything in a packet header is guest-controlled; malformed packets are dropped (and a
// connection that breaks the credit rules reset), never a crash.
//
// Host sockets are non-blocking and edge-triggered in an epoll set whose fd the event loop
// polls (PollFd()).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"
#include "vmm/devices/virtio/device.h"

namespace hull::vmm::virtio {

// struct virtio_vsock_hdr (little-endian, packed, 44 bytes).
struct __attribute__((packed)) VsockHeader {
  uint64_t src_cid;
  uint64_t dst_cid;
  uint32_t src_port;
  uint32_t dst_port;
  uint32_t len;
  uint16_t type;
  uint16_t op;
  uint32_t flags;
  uint32_t buf_alloc;
  uint32_t fwd_cnt;
};
static_assert(sizeof(VsockHeader) == 44);

class Vsock : public VirtioDevice {
 public:
  static constexpr uint32_t kDeviceType = 19;
  static constexpr uint64_t kHostCid = 2;
  static constexpr size_t kReceiveQueue = 0, kTransmitQueue = 1, kEventQueue = 2;
  static constexpr uint16_t kTypeStream = 1;
  static constexpr uint16_t kOpRequest = 1, kOpResponse = 2, kOpReset = 3, kOpShutdown = 4,
                            kOpReadWrite = 5, kOpCreditUpdate = 6, kOpCreditRequest = 7;
  static constexpr uint32_t kShutdownReceive = 1, kShutdownSend = 2;
  static constexpr uint32_t kBufferSize = 256 * 1024;  // our buf_alloc per connection
  static constexpr uint32_t kMaxPayload = 64 * 1024;
  static constexpr uint32_t kFirstHostPort = 1u << 30;  // local ports for host-initiated streams

  // Listens on `uds_path` (replacing a stale socket there); errors name it.
  [[nodiscard]] static Result<std::unique_ptr<Vsock>> Open(uint64_t guest_cid,
                                                          const std::string& uds_path);
  ~Vsock() override;

  uint32_t DeviceType() const override { return kDeviceType; }
  uint64_t Features() const override { return 0; }
  size_t QueueCount() const override { return 3; }
  void ReadConfig(uint64_t offset, std::span<uint8_t> data) const override;
  uint32_t ProcessQueue(const memory::GuestMemory& memory, std::span<Queue> queues,
                        size_t index) override;
  void Reset() override;
  int PollFd() const override { return epoll_.get(); }
  uint32_t HandlePollReady(const memory::GuestMemory& memory, std::span<Queue> queues) override;

 private:
  enum class State { kHandshake, kConnecting, kEstablished, kClosing };
  struct Connection {
    linux::UniqueFd fd;
    State state = State::kHandshake;
    uint32_t local_port = 0;  // the host side's vsock port
    uint32_t peer_port = 0;   // the guest's
    std::string handshake;    // partial "CONNECT <port>\n" line
    std::string to_host;      // guest data not yet written to the host socket
    uint32_t forwarded = 0;   // fwd_cnt: bytes from the guest written to the host
    uint32_t sent = 0;        // bytes sent to the guest
    uint32_t peer_buffer = 0; // the guest's buf_alloc
    uint32_t peer_forwarded = 0;  // the guest's fwd_cnt
    bool host_readable = false;
    bool host_eof = false;
    bool credit_update = false;  // owe the guest a credit update
  };

  Vsock(uint64_t guest_cid, std::string uds_path, linux::UniqueFd listener, linux::UniqueFd epoll)
      : guest_cid_(guest_cid), uds_path_(std::move(uds_path)), listener_(std::move(listener)),
        epoll_(std::move(epoll)) {}

  void HandleTransmit(const memory::GuestMemory& memory, Queue& queue);
  void HandlePacket(const VsockHeader& header, std::span<const uint8_t> payload);
  void ConnectToHost(const VsockHeader& header);
  // Fills receive buffers with pending control packets and host data; true if any used.
  bool FillReceive(const memory::GuestMemory& memory, Queue& queue);
  void AcceptHostClients();
  void HandleHandshake(Connection& connection);
  void FlushToHost(Connection& connection);
  void Control(const Connection& connection, uint16_t op, uint32_t flags = 0);
  void ControlReset(uint32_t local_port, uint32_t peer_port);
  VsockHeader HeaderFor(const Connection& connection, uint16_t op) const;
  void Watch(Connection& connection);
  void Close(int fd);
  Connection* Find(uint32_t local_port, uint32_t peer_port);

  uint64_t guest_cid_;
  std::string uds_path_;
  linux::UniqueFd listener_;
  linux::UniqueFd epoll_;
  std::map<int, std::unique_ptr<Connection>> connections_;  // by host fd
  std::deque<VsockHeader> control_;  // packets without payload waiting for receive buffers
  uint32_t next_host_port_ = kFirstHostPort;
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(sizeof(VsockHeader) + kMaxPayload);
};

}  // namespace hull::vmm::virtio
