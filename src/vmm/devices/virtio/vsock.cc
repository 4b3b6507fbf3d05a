#include "vmm/devices/virtio/vsock.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "vmm/devices/guest_log.h"

namespace hull::vmm::virtio {
namespace {

Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path))
    return Fail("unix socket path " + Quote(path) + " is too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace

Result<std::unique_ptr<Vsock>> Vsock::Open(uint64_t guest_cid, const std::string& uds_path,
                                           VsockLimits limits) {
  // hull-vmm checks its configuration first (CheckGuestCid); this guard is for other callers.
  if (guest_cid < kMinGuestCid || guest_cid > kMaxGuestCid)
    return Fail("vsock: guest CID " + std::to_string(guest_cid) + " is out of range " +
                std::to_string(kMinGuestCid) + ".." + std::to_string(kMaxGuestCid));
  sockaddr_un address = TRY_CTX(UnixAddress(uds_path), "vsock");
  if (limits.max_connections == 0) {
    // Leave the VMM's own fds (vCPUs, eventfds, disks, console) room below the fd limit.
    limits.max_connections = kMaxConnections;
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY)
      limits.max_connections = std::clamp<size_t>(nofile.rlim_cur / 2, 16, kMaxConnections);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return FailErrno("vsock: socket");
  linux::UniqueFd listener(fd);
  struct stat st;
  if (::lstat(uds_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(uds_path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) < 0)
    return FailErrno("vsock: bind " + Quote(uds_path));
  if (::listen(fd, 16) < 0) return FailErrno("vsock: listen " + Quote(uds_path));
  int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return FailErrno("vsock: epoll_create1");
  linux::UniqueFd epoll(epoll_fd);
  epoll_event event{};
  event.events = EPOLLIN | EPOLLET;
  event.data.fd = fd;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) return FailErrno("vsock: epoll_ctl");
  return std::unique_ptr<Vsock>(
      new Vsock(guest_cid, uds_path, std::move(listener), std::move(epoll), limits));
}

Vsock::~Vsock() { ::unlink(uds_path_.c_str()); }

void Vsock::ReadConfig(uint64_t offset, std::span<uint8_t> data) const {
  uint8_t config[8];
  std::memcpy(config, &guest_cid_, 8);
  ReadConfigBytes(config, offset, data);
}

void Vsock::Reset() {
  for (auto& [fd, connection] : connections_) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  connections_.clear();
  control_.clear();
  next_source_fd_ = 0;
}

Vsock::Connection* Vsock::Find(uint32_t local_port, uint32_t peer_port) {
  for (auto& [fd, c] : connections_) {
    if (c->state != State::kHandshake && c->local_port == local_port && c->peer_port == peer_port)
      return c.get();
  }
  return nullptr;
}

VsockHeader Vsock::HeaderFor(Connection& c, uint16_t op) {
  VsockHeader h{};
  h.src_cid = kHostCid;
  h.dst_cid = guest_cid_;
  h.src_port = c.local_port;
  h.dst_port = c.peer_port;
  h.type = kTypeStream;
  h.op = op;
  h.buf_alloc = kBufferSize;
  h.fwd_cnt = c.forwarded;
  // Every packet tells the guest our credit: no separate update is owed after it.
  c.announced_forwarded = c.forwarded;
  c.owe_credit_update = false;
  return h;
}

void Vsock::QueueControl(const VsockHeader& h) {
  if (control_.size() >= limits_.max_queued_control) {
    devices::GuestWarning("virtio-vsock: the guest does not read its receive queue; dropping a " +
                          std::string(h.op == kOpReset ? "reset" : "shutdown") + " for port " +
                          std::to_string(h.dst_port));
    return;
  }
  control_.push_back(h);
}

void Vsock::ControlReset(uint32_t local_port, uint32_t peer_port) {
  VsockHeader h{};
  h.src_cid = kHostCid;
  h.dst_cid = guest_cid_;
  h.src_port = local_port;
  h.dst_port = peer_port;
  h.type = kTypeStream;
  h.op = kOpReset;
  QueueControl(h);
}

void Vsock::Abort(Connection& c) {
  // The guest knows of the connection once it was asked for it or answered it.
  bool guest_knows =
      c.state == State::kEstablished || (c.state == State::kConnecting && !c.owe_request);
  if (guest_knows) ControlReset(c.local_port, c.peer_port);
  Close(c.fd.get());
}

void Vsock::Watch(Connection& c) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.fd = c.fd.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &event) < 0)
    devices::GuestWarning("vsock: epoll_ctl: " + std::string(strerror(errno)));
}

void Vsock::Close(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  connections_.erase(fd);
}

uint32_t Vsock::ProcessQueue(const memory::GuestMemory& memory, std::span<Queue> queues,
                             size_t index) {
  if (queues.size() < 3) return 0;
  uint32_t used = 0;
  if (index == kTransmitQueue) {
    HandleTransmit(memory, queues[kTransmitQueue]);
    used |= 1u << kTransmitQueue;
  }
  if (index == kTransmitQueue || index == kReceiveQueue) {
    if (FillReceive(memory, queues[kReceiveQueue])) used |= 1u << kReceiveQueue;
  }
  return used;  // the event queue's buffers are kept for transport events (none sent yet)
}

void Vsock::HandleTransmit(const memory::GuestMemory& memory, Queue& queue) {
  while (true) {
    auto popped = queue.PopChain(memory);
    if (!popped) {
      devices::GuestWarning("virtio-vsock tx: " + popped.error().ToString());
      return;
    }
    if (!*popped) return;
    const Result<Chain>& chain = (*popped)->chain;
    VsockHeader header{};
    std::span<const uint8_t> payload;
    bool ok = false;
    if (!chain) {
      devices::GuestWarning("virtio-vsock tx: bad chain: " + chain.error().ToString());
    } else if (chain->ReadableLength() < sizeof(header)) {
      devices::GuestWarning("virtio-vsock tx: packet shorter than its header");
    } else if (ReadFromBuffers(memory, chain->readable, 0,
                               std::span(reinterpret_cast<uint8_t*>(&header), sizeof(header)))) {
      if (header.len > kMaxPayload || header.len > chain->ReadableLength() - sizeof(header)) {
        devices::GuestWarning("virtio-vsock tx: payload length " + std::to_string(header.len) +
                              " does not match the packet");
      } else if (ReadFromBuffers(memory, chain->readable, sizeof(header),
                                 std::span(scratch_.data(), header.len))) {
        payload = std::span<const uint8_t>(scratch_.data(), header.len);
        ok = true;
      }
    }
    if (auto r = queue.AddUsed(memory, (*popped)->head, 0); !r) {
      devices::GuestWarning("virtio-vsock tx: " + r.error().ToString());
      return;
    }
    if (ok) HandlePacket(header, payload);
  }
}

void Vsock::HandlePacket(const VsockHeader& h, std::span<const uint8_t> payload) {
  if (h.src_cid != guest_cid_ || h.dst_cid != kHostCid) return;  // not ours: drop
  if (h.type != kTypeStream) {
    if (h.op != kOpReset) ControlReset(h.dst_port, h.src_port);
    return;
  }
  Connection* c = Find(h.dst_port, h.src_port);
  if (!c) {
    // As a peer without such a socket: connect, or answer anything but a reset with a reset.
    if (h.op == kOpRequest)
      ConnectToHost(h);
    else if (h.op != kOpReset)
      ControlReset(h.dst_port, h.src_port);
    return;
  }
  // Every packet carries the guest's credit.
  c->peer_buffer = h.buf_alloc;
  c->peer_forwarded = h.fwd_cnt;
  switch (h.op) {
    case kOpRequest:  // a duplicate for a connection that exists: nothing new
      return;
    case kOpResponse:
      if (c->state != State::kConnecting) return;
      if (c->owe_request) {  // an answer to a request it has not been sent
        Abort(*c);
        return;
      }
      c->state = State::kEstablished;
      {
        std::string ok = "OK " + std::to_string(c->local_port) + "\n";
        if (::send(c->fd.get(), ok.data(), ok.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
            static_cast<ssize_t>(ok.size())) {
          Abort(*c);
        }
      }
      return;
    case kOpReset:
      Close(c->fd.get());
      return;
    case kOpShutdown:
      if ((h.flags & kShutdownReceive) && !c->guest_done_receiving) {
        // The guest reads no more: the host's writes fail (EPIPE) instead of piling up.
        c->guest_done_receiving = true;
        c->owe_shutdown = false;
        ::shutdown(c->fd.get(), SHUT_RD);
      }
      if (h.flags & kShutdownSend) c->guest_done_sending = true;
      if (FlushToHost(*c)) FinishIfDone(*c);
      return;
    case kOpReadWrite:
      if (c->state != State::kEstablished || c->guest_done_sending) {
        Abort(*c);
        return;
      }
      if (c->to_host.size() + payload.size() > kBufferSize) {
        devices::GuestWarning("virtio-vsock: guest overran its credit on port " +
                              std::to_string(c->local_port));
        Abort(*c);
        return;
      }
      c->to_host.append(reinterpret_cast<const char*>(payload.data()), payload.size());
      FlushToHost(*c);
      return;
    case kOpCreditRequest:
      c->owe_credit_update = true;
      return;
    case kOpCreditUpdate:  // the credit was taken above; FillReceive() may send again
    default:
      return;
  }
}

void Vsock::ConnectToHost(const VsockHeader& h) {
  if (connections_.size() >= limits_.max_connections) {
    devices::GuestWarning("virtio-vsock: refusing a connection to port " +
                          std::to_string(h.dst_port) + ": " +
                          std::to_string(limits_.max_connections) + " connections are open");
    ControlReset(h.dst_port, h.src_port);
    return;
  }
  std::string path = uds_path_ + "_" + std::to_string(h.dst_port);
  auto address = UnixAddress(path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (!address || fd < 0 ||
      ::connect(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) < 0) {
    if (fd >= 0) ::close(fd);
    ControlReset(h.dst_port, h.src_port);
    return;
  }
  auto c = std::make_unique<Connection>();
  c->fd.reset(fd);
  c->state = State::kEstablished;
  c->local_port = h.dst_port;
  c->peer_port = h.src_port;
  c->peer_buffer = h.buf_alloc;
  c->peer_forwarded = h.fwd_cnt;
  c->owe_response = true;
  Watch(*c);
  connections_[fd] = std::move(c);
}

bool Vsock::FlushToHost(Connection& c) {
  while (!c.to_host.empty()) {
    ssize_t n = ::send(c.fd.get(), c.to_host.data(), c.to_host.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // EPOLLOUT resumes
    if (n <= 0) {
      Abort(c);
      return false;
    }
    c.to_host.erase(0, static_cast<size_t>(n));
    c.forwarded += static_cast<uint32_t>(n);
    // Tell the guest about the space it got back once that is worth a packet (it also learns
    // it from every other packet we send, and when it asks).
    if (c.forwarded - c.announced_forwarded >= kCreditUpdateThreshold) c.owe_credit_update = true;
  }
  if (c.guest_done_sending && !c.host_write_shut) {
    ::shutdown(c.fd.get(), SHUT_WR);  // everything the guest sent is written
    c.host_write_shut = true;
  }
  return true;
}

bool Vsock::FinishIfDone(Connection& c) {
  if (c.state != State::kEstablished) return false;
  bool flushed = c.to_host.empty();
  if (c.guest_done_sending && c.guest_done_receiving && flushed) {
    // The guest shut down both ways (it closed its socket): the spec's clean disconnect ends
    // with the peer's reset.
    Abort(c);
    return true;
  }
  bool host_to_guest_done = c.host_eof || c.guest_done_receiving;
  bool guest_to_host_done = c.guest_done_sending && flushed;
  if (host_to_guest_done && (guest_to_host_done || c.host_hangup)) {
    // Nothing can flow either way any more: tell the guest and forget the connection (a reset
    // answers anything the guest still sends for it).
    VsockHeader h = HeaderFor(c, kOpShutdown);
    h.flags = kShutdownReceive | kShutdownSend;
    QueueControl(h);
    Close(c.fd.get());
    return true;
  }
  return false;
}

void Vsock::AcceptHostClients() {
  while (true) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= limits_.max_connections) {
      devices::GuestWarning("virtio-vsock: refusing a host client: " +
                            std::to_string(limits_.max_connections) + " connections are open");
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd.reset(fd);
    Watch(*c);
    Connection* raw = c.get();
    connections_[fd] = std::move(c);
    HandleHandshake(*raw);
  }
}

void Vsock::HandleHandshake(Connection& c) {
  // Byte by byte, so that nothing after the line is consumed before the stream exists.
  char ch;
  while (c.handshake.size() < 32) {
    ssize_t n = ::read(c.fd.get(), &ch, 1);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Close(c.fd.get());
      return;
    }
    if (ch != '\n') {
      c.handshake.push_back(ch);
      continue;
    }
    uint64_t port = 0;
    bool valid = c.handshake.starts_with("CONNECT ") && c.handshake.size() > 8;
    for (size_t i = 8; valid && i < c.handshake.size(); ++i) {
      valid = c.handshake[i] >= '0' && c.handshake[i] <= '9' && port <= 0xffffffffULL;
      port = port * 10 + (c.handshake[i] - '0');
    }
    if (!valid || port > 0xffffffffULL) break;
    while (Find(next_host_port_, static_cast<uint32_t>(port)) != nullptr) ++next_host_port_;
    c.local_port = next_host_port_++;
    if (next_host_port_ == 0) next_host_port_ = kFirstHostPort;
    c.peer_port = static_cast<uint32_t>(port);
    c.state = State::kConnecting;
    c.peer_buffer = 0;  // until the guest's RESPONSE says otherwise
    c.owe_request = true;
    return;
  }
  Close(c.fd.get());  // not a CONNECT line
}

Vsock::Outgoing Vsock::PickOutgoing() {
  if (!control_.empty()) return {Outgoing::Kind::kQueued};
  auto consider = [](Connection& c) -> Outgoing {
    if (c.state == State::kHandshake) return {};
    if (c.owe_request || c.owe_response) return {Outgoing::Kind::kOwed, &c};
    if (c.state != State::kEstablished) return {};
    if (c.host_readable && !c.host_eof && !c.guest_done_receiving) {
      uint32_t in_flight = c.sent - c.peer_forwarded;  // guest-controlled; wraps if it lies
      if (in_flight < c.peer_buffer) return {Outgoing::Kind::kData, &c, c.peer_buffer - in_flight};
    }
    if (c.owe_credit_update || c.owe_shutdown) return {Outgoing::Kind::kOwed, &c};
    return {};
  };
  // Take turns between connections, starting after the one served last.
  auto first = connections_.lower_bound(next_source_fd_);
  for (size_t i = 0; i < connections_.size(); ++i, ++first) {
    if (first == connections_.end()) first = connections_.begin();
    Outgoing out = consider(*first->second);
    if (out.kind != Outgoing::Kind::kNothing) {
      next_source_fd_ = first->first + 1;
      return out;
    }
  }
  return {};
}

VsockHeader Vsock::TakeOwed(Connection& c) {
  if (c.owe_request) {
    c.owe_request = false;
    return HeaderFor(c, kOpRequest);
  }
  if (c.owe_response) {
    c.owe_response = false;
    return HeaderFor(c, kOpResponse);
  }
  if (c.owe_credit_update) return HeaderFor(c, kOpCreditUpdate);
  c.owe_shutdown = false;
  VsockHeader h = HeaderFor(c, kOpShutdown);
  h.flags = kShutdownSend;  // we send no more; the guest may still send
  return h;
}

bool Vsock::FillReceive(const memory::GuestMemory& memory, Queue& queue) {
  bool used = false;
  while (true) {
    // Pick what to send before taking a buffer.
    Outgoing next = PickOutgoing();
    if (next.kind == Outgoing::Kind::kNothing) return used;
    auto popped = queue.PopChain(memory);
    if (!popped) {
      devices::GuestWarning("virtio-vsock rx: " + popped.error().ToString());
      return used;
    }
    if (!*popped) return used;  // no buffers: resume when the driver adds some
    const Result<Chain>& chain = (*popped)->chain;
    size_t needed = sizeof(VsockHeader) + (next.kind == Outgoing::Kind::kData ? 1 : 0);
    uint32_t written = 0;
    if (!chain || chain->WritableLength() < needed || !chain->readable.empty()) {
      devices::GuestWarning("virtio-vsock rx: unusable receive buffer");
    } else if (next.kind != Outgoing::Kind::kData) {
      VsockHeader h;
      if (next.kind == Outgoing::Kind::kQueued) {
        h = control_.front();
        control_.pop_front();
      } else {
        h = TakeOwed(*next.connection);
      }
      if (WriteToBuffers(memory, chain->writable, 0,
                         std::span(reinterpret_cast<const uint8_t*>(&h), sizeof(h)))) {
        written = sizeof(h);
      }
    } else {
      Connection& c = *next.connection;
      uint64_t room = chain->WritableLength() - sizeof(VsockHeader);
      size_t want = std::min<uint64_t>({room, next.credit, kMaxPayload});
      ssize_t n;
      do {
        n = ::read(c.fd.get(), scratch_.data() + sizeof(VsockHeader), want);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {
        queue.UndoPop();  // the buffer waits for the next packet
        c.host_readable = false;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          Abort(c);
        } else if (n == 0) {
          // End of file from the host: after the data before it, tell the guest no more comes.
          c.host_eof = true;
          if (!FinishIfDone(c) && !c.guest_done_receiving) c.owe_shutdown = true;
        }
        continue;
      }
      VsockHeader h = HeaderFor(c, kOpReadWrite);
      h.len = static_cast<uint32_t>(n);
      std::memcpy(scratch_.data(), &h, sizeof(h));
      if (WriteToBuffers(memory, chain->writable, 0,
                         std::span<const uint8_t>(scratch_.data(), sizeof(h) + n))) {
        written = static_cast<uint32_t>(sizeof(h) + n);
        c.sent += static_cast<uint32_t>(n);
      }
    }
    if (auto r = queue.AddUsed(memory, (*popped)->head, written); !r) {
      devices::GuestWarning("virtio-vsock rx: " + r.error().ToString());
      return used;
    }
    used = true;
  }
}

uint32_t Vsock::HandlePollReady(const memory::GuestMemory& memory, std::span<Queue> queues) {
  if (queues.size() < 3) return 0;
  epoll_event events[32];
  int n;
  do {
    n = ::epoll_wait(epoll_.get(), events, 32, 0);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener_.get()) {
        AcceptHostClients();
        continue;
      }
      auto it = connections_.find(fd);
      if (it == connections_.end()) continue;
      Connection& c = *it->second;
      uint32_t happened = events[i].events;
      if ((happened & EPOLLOUT) && (!FlushToHost(c) || FinishIfDone(c))) continue;
      if (happened & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (c.state == State::kHandshake) {
          HandleHandshake(c);
          continue;
        }
        if (c.state == State::kConnecting && (happened & EPOLLHUP)) {
          Abort(c);  // the host client gave up before the guest answered
          continue;
        }
        c.host_readable = true;
        if (happened & EPOLLHUP) {
          c.host_hangup = true;
          FinishIfDone(c);
        }
      }
    }
  } while (n == 32);
  return FillReceive(memory, queues[kReceiveQueue]) ? 1u << kReceiveQueue : 0;
}

}  // namespace hull::vmm::virtio
