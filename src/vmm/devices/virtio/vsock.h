// Vsock: virtio socket device (device type 19) whose host side is unix sockets instead of
// /dev/vhost-vsock (which not every host has):
//  - guest to host: a guest connecting to CID 2 port P is connected to the unix socket
//    "<uds_path>_<P>" on the host (refused with RST if nothing listens there);
//  - host to guest: a host program connects to the unix socket <uds_path>, writes
//    "CONNECT <port>\n", and once the guest accepts reads "OK <host_port>\n"; the socket then
//    carries the stream.
// Stream sockets only (VIRTIO_VSOCK_TYPE_STREAM), following the virtio spec's "Socket Device":
//  - Credit-based flow control both ways: the VMM buffers at most kBufferSize bytes per
//    connection towards the host (a guest that sends more is reset), tells the guest what it
//    has forwarded (fwd_cnt) in every packet, with a CREDIT_UPDATE when asked (CREDIT_REQUEST)
//    or once kCreditUpdateThreshold bytes were forwarded unannounced, and sends the guest no
//    more than the guest's advertised buffer space (buf_alloc - (sent - guest's fwd_cnt)).
//  - The two directions close separately. A guest SHUTDOWN with F_SEND becomes shutdown(SHUT_WR)
//    on the host socket once everything before it was written, F_RECEIVE becomes
//    shutdown(SHUT_RD); end of file from the host becomes SHUTDOWN F_SEND to the guest after the
//    data before it. A connection ends when the guest sent SHUTDOWN with both flags (answered
//    with RST), when nothing can flow either way any more (SHUTDOWN with both flags to the
//    guest), or on RST.
//
// Everything in a packet header is guest-controlled; malformed packets are dropped (and a
// connection that breaks the credit rules reset), never a crash. What a guest can make the VMM
// hold is bounded: at most VsockLimits::max_connections host sockets (more are refused with
// RST, or closed at once for host clients) and at most max_queued_control packets waiting for
// receive buffers that belong to no connection (resets, final shutdowns); a guest that does
// not read its receive queue loses those beyond the limit.
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

struct VsockLimits {
  // Host sockets (connections in either direction, handshakes included); 0: half the soft
  // RLIMIT_NOFILE, at most 1024 and at least 16.
  size_t max_connections = 0;
  // Packets that belong to no connection waiting for a receive buffer.
  size_t max_queued_control = 1024;
};

class Vsock : public VirtioDevice {
 public:
  static constexpr uint32_t kDeviceType = 19;
  static constexpr uint64_t kHostCid = 2;
  // Guest CIDs: 0-2 are the hypervisor, local and host addresses; 2^32 - 1 is VMADDR_CID_ANY.
  static constexpr uint64_t kMinGuestCid = 3;
  static constexpr uint64_t kMaxGuestCid = 0xfffffffe;
  static constexpr size_t kReceiveQueue = 0, kTransmitQueue = 1, kEventQueue = 2;
  static constexpr uint16_t kTypeStream = 1;
  static constexpr uint16_t kOpRequest = 1, kOpResponse = 2, kOpReset = 3, kOpShutdown = 4,
                            kOpReadWrite = 5, kOpCreditUpdate = 6, kOpCreditRequest = 7;
  static constexpr uint32_t kShutdownReceive = 1, kShutdownSend = 2;
  static constexpr uint32_t kBufferSize = 256 * 1024;  // our buf_alloc per connection
  static constexpr uint32_t kCreditUpdateThreshold = kBufferSize / 4;
  static constexpr uint32_t kMaxPayload = 64 * 1024;
  static constexpr uint32_t kFirstHostPort = 1u << 30;  // local ports for host-initiated streams
  static constexpr size_t kMaxConnections = 1024;

  // Listens on `uds_path` (replacing a stale socket there); errors name it.
  [[nodiscard]] static Result<std::unique_ptr<Vsock>> Open(uint64_t guest_cid,
                                                           const std::string& uds_path,
                                                           VsockLimits limits = {});
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
  enum class State {
    kHandshake,   // a host client that has not sent its CONNECT line yet
    kConnecting,  // host-initiated: waiting for the guest's RESPONSE
    kEstablished,
  };
  struct Connection {
    linux::UniqueFd fd;
    State state = State::kHandshake;
    uint32_t local_port = 0;  // the host side's vsock port
    uint32_t peer_port = 0;   // the guest's
    std::string handshake;    // partial "CONNECT <port>\n" line
    // Guest to host.
    std::string to_host;               // guest data not yet written to the host socket
    uint32_t forwarded = 0;            // fwd_cnt: bytes from the guest written to the host
    uint32_t announced_forwarded = 0;  // the fwd_cnt the guest last got from us
    bool guest_done_sending = false;   // SHUTDOWN F_SEND from the guest
    bool host_write_shut = false;      // shutdown(SHUT_WR) done on the host socket
    // Host to guest.
    uint32_t sent = 0;            // bytes sent to the guest
    uint32_t peer_buffer = 0;     // the guest's buf_alloc
    uint32_t peer_forwarded = 0;  // the guest's fwd_cnt
    bool host_readable = false;
    bool host_eof = false;              // read() returned 0
    bool host_hangup = false;           // EPOLLHUP: nothing can flow either way any more
    bool guest_done_receiving = false;  // SHUTDOWN F_RECEIVE from the guest
    // Packets owed to the guest, sent in this order (data goes before the shutdown).
    bool owe_request = false;   // host-initiated
    bool owe_response = false;  // guest-initiated
    bool owe_credit_update = false;
    bool owe_shutdown = false;  // F_SEND after the host's end of file
  };
  // What FillReceive() sends next.
  struct Outgoing {
    enum class Kind { kNothing, kQueued, kOwed, kData } kind = Kind::kNothing;
    Connection* connection = nullptr;
    uint32_t credit = 0;  // kData: how much the guest can take
  };

  Vsock(uint64_t guest_cid, std::string uds_path, linux::UniqueFd listener, linux::UniqueFd epoll,
        VsockLimits limits)
      : guest_cid_(guest_cid),
        uds_path_(std::move(uds_path)),
        listener_(std::move(listener)),
        epoll_(std::move(epoll)),
        limits_(limits) {}

  void HandleTransmit(const memory::GuestMemory& memory, Queue& queue);
  void HandlePacket(const VsockHeader& header, std::span<const uint8_t> payload);
  void ConnectToHost(const VsockHeader& header);
  // Fills receive buffers with pending control packets and host data; true if any used.
  bool FillReceive(const memory::GuestMemory& memory, Queue& queue);
  Outgoing PickOutgoing();
  // The owed packet a connection sends next, or 0; clears what it owes for it.
  VsockHeader TakeOwed(Connection& connection);
  void AcceptHostClients();
  void HandleHandshake(Connection& connection);
  // Writes buffered guest data to the host; false if that closed the connection.
  bool FlushToHost(Connection& connection);
  // Closes the connection if its two directions are done; true if it did.
  bool FinishIfDone(Connection& connection);
  // Queues `header` (a packet of no connection) unless the queue is full.
  void QueueControl(const VsockHeader& header);
  void ControlReset(uint32_t local_port, uint32_t peer_port);
  // Resets the connection towards the guest and closes it.
  void Abort(Connection& connection);
  VsockHeader HeaderFor(Connection& connection, uint16_t op);
  void Watch(Connection& connection);
  void Close(int fd);
  Connection* Find(uint32_t local_port, uint32_t peer_port);

  uint64_t guest_cid_;
  std::string uds_path_;
  linux::UniqueFd listener_;
  linux::UniqueFd epoll_;
  VsockLimits limits_;
  std::map<int, std::unique_ptr<Connection>> connections_;  // by host fd
  std::deque<VsockHeader> control_;  // packets of no connection waiting for receive buffers
  int next_source_fd_ = 0;           // FillReceive() takes turns from here
  uint32_t next_host_port_ = kFirstHostPort;
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(sizeof(VsockHeader) + kMaxPayload);
};

}  // namespace hull::vmm::virtio
