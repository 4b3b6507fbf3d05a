#include "vmm/devices/virtio/vsock.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "base/log.h"
#include "vmm/devices/guest_log.h"

namespace hull::vmm::virtio {
namespace {

Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return Fail("unix socket path " + Quote(path) + " is too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace

Result<std::unique_ptr<Vsock>> Vsock::Open(uint64_t guest_cid, const std::string& uds_path) {
  if (guest_cid < 3 || guest_cid > 0xfffffffe)
    return Fail("vsock: guest CID " + std::to_string(guest_cid) + " is out of range 3..4294967294");
  sockaddr_un address = TRY_CTX(UnixAddress(uds_path), "vsock");
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
  return std::unique_ptr<Vsock>(new Vsock(guest_cid, uds_path, std::move(listener), std::move(epoll)));
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
}

Vsock::Connection* Vsock::Find(uint32_t local_port, uint32_t peer_port) {
  for (auto& [fd, c] : connections_) {
    if (c->state != State::kHandshake && c->local_port == local_port && c->peer_port == peer_port)
      return c.get();
  }
  return nullptr;
}

VsockHeader Vsock::HeaderFor(const Connection& c, uint16_t op) const {
  VsockHeader h{};
  h.src_cid = kHostCid;
  h.dst_cid = guest_cid_;
  h.src_port = c.local_port;
  h.dst_port = c.peer_port;
  h.type = kTypeStream;
  h.op = op;
  h.buf_alloc = kBufferSize;
  h.fwd_cnt = c.forwarded;
  return h;
}

void Vsock::Control(const Connection& c, uint16_t op, uint32_t flags) {
  VsockHeader h = HeaderFor(c, op);
  h.flags = flags;
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
  control_.push_back(h);
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
        devices::GuestWarning("virtio-vsock tx: payload length " + std::to_string(header.len) + " does not match the packet");
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
  if (c) {
    c->peer_buffer = h.buf_alloc;
    c->peer_forwarded = h.fwd_cnt;
  }
  switch (h.op) {
    case kOpRequest:
      if (!c) ConnectToHost(h);
      return;
    case kOpResponse:
      if (c && c->state == State::kConnecting) {
        c->state = State::kEstablished;
        std::string ok = "OK " + std::to_string(c->local_port) + "\n";
        if (::send(c->fd.get(), ok.data(), ok.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ok.size())) {
          ControlReset(c->local_port, c->peer_port);
          Close(c->fd.get());
        }
      } else if (!c) {
        ControlReset(h.dst_port, h.src_port);
      }
      return;
    case kOpReset:
      if (c) Close(c->fd.get());
      return;
    case kOpShutdown:
      if (!c) return;
      if ((h.flags & (kShutdownReceive | kShutdownSend)) == (kShutdownReceive | kShutdownSend)) {
        ControlReset(c->local_port, c->peer_port);
        Close(c->fd.get());
      } else if (h.flags & kShutdownSend) {
        c->state = State::kClosing;  // no more data from the guest
        FlushToHost(*c);
      }
      return;
    case kOpReadWrite:
      if (!c || (c->state != State::kEstablished && c->state != State::kClosing)) {
        ControlReset(h.dst_port, h.src_port);
        return;
      }
      if (c->to_host.size() + payload.size() > kBufferSize) {
        devices::GuestWarning("virtio-vsock: guest overran its credit on port " + std::to_string(c->local_port));
        ControlReset(c->local_port, c->peer_port);
        Close(c->fd.get());
        return;
      }
      c->to_host.append(reinterpret_cast<const char*>(payload.data()), payload.size());
      FlushToHost(*c);
      return;
    case kOpCreditRequest:
      if (c) c->credit_update = true;
      return;
    case kOpCreditUpdate:
    default:
      return;
  }
}

void Vsock::ConnectToHost(const VsockHeader& h) {
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
  Watch(*c);
  Control(*c, kOpResponse);
  connections_[fd] = std::move(c);
}

void Vsock::FlushToHost(Connection& c) {
  while (!c.to_host.empty()) {
    ssize_t n = ::send(c.fd.get(), c.to_host.data(), c.to_host.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // EPOLLOUT resumes
    if (n <= 0) {
      ControlReset(c.local_port, c.peer_port);
      Close(c.fd.get());
      return;
    }
    c.to_host.erase(0, static_cast<size_t>(n));
    c.forwarded += static_cast<uint32_t>(n);
    c.credit_update = true;
  }
  if (c.state == State::kClosing) ::shutdown(c.fd.get(), SHUT_WR);
}

void Vsock::AcceptHostClients() {
  while (true) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
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
    if (n < 0 && errno == EAGAIN) return;
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
    Control(c, kOpRequest);
    return;
  }
  Close(c.fd.get());  // not a CONNECT line
}

bool Vsock::FillReceive(const memory::GuestMemory& memory, Queue& queue) {
  bool used = false;
  while (true) {
    if (control_.empty()) {
      for (auto& [fd, c] : connections_) {
        if (c->credit_update && c->state == State::kEstablished) {
          Control(*c, kOpCreditUpdate);
          c->credit_update = false;
          break;
        }
      }
    }
    // Pick what to send before taking a buffer: a control packet, or data from a host socket
    // the guest has room for.
    Connection* source = nullptr;
    uint32_t credit = 0;
    if (control_.empty()) {
      for (auto& [fd, c] : connections_) {
        if (c->state != State::kEstablished || !c->host_readable) continue;
        uint32_t in_flight = c->sent - c->peer_forwarded;
        if (in_flight >= c->peer_buffer) continue;
        source = c.get();
        credit = c->peer_buffer - in_flight;
        break;
      }
      if (source == nullptr) return used;
    }
    auto popped = queue.PopChain(memory);
    if (!popped) {
      devices::GuestWarning("virtio-vsock rx: " + popped.error().ToString());
      return used;
    }
    if (!*popped) return used;  // no buffers: resume when the driver adds some
    const Result<Chain>& chain = (*popped)->chain;
    uint32_t written = 0;
    if (!chain || chain->WritableLength() < sizeof(VsockHeader) || !chain->readable.empty()) {
      devices::GuestWarning("virtio-vsock rx: unusable receive buffer");
    } else if (source == nullptr) {
      VsockHeader h = control_.front();
      control_.pop_front();
      if (Connection* c = Find(h.src_port, h.dst_port)) {
        h.fwd_cnt = c->forwarded;
        c->credit_update = false;
      }
      if (WriteToBuffers(memory, chain->writable, 0,
                         std::span(reinterpret_cast<const uint8_t*>(&h), sizeof(h)))) {
        written = sizeof(h);
      }
    } else {
      uint64_t room = chain->WritableLength() - sizeof(VsockHeader);
      size_t want = std::min<uint64_t>({room, credit, kMaxPayload});
      ssize_t n = want == 0 ? -1 : ::read(source->fd.get(), scratch_.data() + sizeof(VsockHeader), want);
      if (n <= 0) {
        if (n == 0) {
          // The host closed its end: tell the guest no more data comes either way.
          source->state = State::kClosing;
          Control(*source, kOpShutdown, kShutdownReceive | kShutdownSend);
        }
        source->host_readable = false;
        queue.UndoPop();
        continue;
      }
      VsockHeader h = HeaderFor(*source, kOpReadWrite);
      h.len = static_cast<uint32_t>(n);
      std::memcpy(scratch_.data(), &h, sizeof(h));
      if (WriteToBuffers(memory, chain->writable, 0,
                         std::span<const uint8_t>(scratch_.data(), sizeof(h) + n))) {
        written = static_cast<uint32_t>(sizeof(h) + n);
        source->sent += static_cast<uint32_t>(n);
        source->credit_update = false;
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
      if (events[i].events & EPOLLOUT) FlushToHost(c);
      if (connections_.find(fd) == connections_.end()) continue;
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (c.state == State::kHandshake) HandleHandshake(c);
        else c.host_readable = true;
      }
    }
  } while (n == 32);
  return FillReceive(memory, queues[kReceiveQueue]) ? 1u << kReceiveQueue : 0;
}

}  // namespace hull::vmm::virtio
