#include "vmm/devices/virtio/net.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstring>

#include "base/log.h"
#include "vmm/devices/guest_log.h"

namespace hull::vmm::virtio {

Result<MacAddress> ParseMac(std::string_view text) {
  MacAddress mac{};
  auto bad = [&] { return Fail("MAC address " + Quote(text) + ": expected aa:bb:cc:dd:ee:ff"); };
  if (text.size() != 17) return bad();
  for (size_t i = 0; i < 6; ++i) {
    if (i < 5 && text[i * 3 + 2] != ':') return bad();
    unsigned value = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = text[i * 3 + j];
      unsigned digit = (c >= '0' && c <= '9')   ? c - '0'
                       : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                       : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                : 16;
      if (digit == 16) return bad();
      value = value * 16 + digit;
    }
    mac[i] = static_cast<uint8_t>(value);
  }
  if (mac[0] & 1) return Fail("MAC address " + Quote(text) + " is a multicast address");
  return mac;
}

MacAddress RandomMac() {
  MacAddress mac{};
  if (::getrandom(mac.data(), mac.size(), 0) != static_cast<ssize_t>(mac.size()))
    mac = {0, 1, 2, 3, 4, 5};
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfc) | 0x02);  // locally administered, unicast
  return mac;
}

Result<std::unique_ptr<Net>> Net::OpenTap(const std::string& name, MacAddress mac) {
  std::string what = "tap " + Quote(name);
  if (name.empty() || name.size() >= IFNAMSIZ) return Fail(what + ": bad interface name");
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return FailErrno(what + ": open /dev/net/tun");
  linux::UniqueFd tap(fd);
  ifreq request{};
  std::memcpy(request.ifr_name, name.c_str(), name.size());
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd, TUNSETIFF, &request) < 0) return FailErrno(what + ": TUNSETIFF");
  int header_size = kHeaderSize;
  if (::ioctl(fd, TUNSETVNETHDRSZ, &header_size) < 0) return FailErrno(what + ": TUNSETVNETHDRSZ");
  if (::ioctl(fd, TUNSETOFFLOAD, 0) < 0) return FailErrno(what + ": TUNSETOFFLOAD");
  return std::make_unique<Net>(std::move(tap), mac);
}

void Net::ReadConfig(uint64_t offset, std::span<uint8_t> data) const {
  uint8_t config[8] = {};
  std::memcpy(config, mac_.data(), 6);
  config[6] = 1;  // status: VIRTIO_NET_S_LINK_UP
  ReadConfigBytes(config, offset, data);
}

Result<void> Net::Activate(uint64_t) {
  receive_armed_ = true;  // the first readiness tells whether the receive queue has buffers
  return {};
}

void Net::Reset() { receive_armed_ = false; }

int Net::PollFd() const { return receive_armed_ ? backend_.get() : -1; }

uint32_t Net::ProcessQueue(const memory::GuestMemory& memory, std::span<Queue> queues,
                           size_t index) {
  if (index >= queues.size()) return 0;
  if (index == kTransmitQueue) return Transmit(memory, queues[index]) ? 1u << index : 0;
  // New receive buffers: deliver what waited for them and poll the backend again.
  receive_armed_ = true;
  return Receive(memory, queues[index]) ? 1u << index : 0;
}

uint32_t Net::HandlePollReady(const memory::GuestMemory& memory, std::span<Queue> queues) {
  if (queues.size() <= kReceiveQueue) return 0;
  // A receive queue that is not ready has no buffers to pop: Receive disarms polling until the
  // driver notifies it.
  return Receive(memory, queues[kReceiveQueue]) ? 1u << kReceiveQueue : 0;
}

bool Net::Transmit(const memory::GuestMemory& memory, Queue& queue) {
  bool used = false;
  while (true) {
    auto popped = queue.PopChain(memory);
    if (!popped) {
      devices::GuestWarning("virtio-net tx: " + popped.error().ToString());
      return used;
    }
    if (!*popped) return used;
    const Result<Chain>& chain = (*popped)->chain;
    if (!chain) {
      devices::GuestWarning("virtio-net tx: bad chain: " + chain.error().ToString());
    } else if (!chain->writable.empty() || chain->ReadableLength() < kHeaderSize ||
               chain->ReadableLength() > kMaxFrame) {
      devices::GuestWarning("virtio-net tx: malformed frame of " +
                            std::to_string(chain->ReadableLength()) + " bytes");
    } else {
      std::span<uint8_t> frame(scratch_.data(), chain->ReadableLength());
      if (ReadFromBuffers(memory, chain->readable, 0, frame)) {
        ssize_t n;
        do {
          n = ::write(backend_.get(), frame.data(), frame.size());
        } while (n < 0 && errno == EINTR);
        // A full tap queue drops the frame, as a congested link would.
        if (n < 0 && errno != EAGAIN) log::Debug("virtio-net tx: " + std::string(strerror(errno)));
      }
    }
    if (auto r = queue.AddUsed(memory, (*popped)->head, 0); !r) {
      devices::GuestWarning("virtio-net tx: " + r.error().ToString());
      return used;
    }
    used = true;
  }
}

bool Net::Receive(const memory::GuestMemory& memory, Queue& queue) {
  bool used = false;
  while (true) {
    // Take a buffer first, so that no frame is read that has nowhere to go.
    auto popped = queue.PopChain(memory);
    if (!popped) {
      devices::GuestWarning("virtio-net rx: " + popped.error().ToString());
      receive_armed_ = false;  // the transport marks the device as needing a reset
      return used;
    }
    if (!*popped) {
      receive_armed_ = false;  // no buffers: resume when the driver posts some
      return used;
    }
    uint32_t written = 0;
    const Result<Chain>& chain = (*popped)->chain;
    if (!chain) {
      devices::GuestWarning("virtio-net rx: bad chain: " + chain.error().ToString());
    } else if (!chain->readable.empty() || chain->WritableLength() < kHeaderSize) {
      devices::GuestWarning("virtio-net rx: receive buffer not writable or shorter than a header");
    } else {
      ssize_t n;
      do {
        n = ::read(backend_.get(), scratch_.data(), scratch_.size());
      } while (n < 0 && errno == EINTR);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        queue.UndoPop();  // nothing more for now; the buffer waits for the next frame
        return used;
      }
      if (n <= 0) {
        // The backend is gone or failing: stop polling it until the driver posts buffers again.
        devices::GuestWarning("virtio-net rx: backend " +
                              std::string(n == 0 ? "closed" : strerror(errno)) +
                              "; receiving paused");
        queue.UndoPop();
        receive_armed_ = false;
        return used;
      }
      if (static_cast<size_t>(n) < kHeaderSize) {
        queue.UndoPop();  // a runt without a virtio-net header: drop it
        continue;
      }
      // VIRTIO_NET_F_MRG_RXBUF is not offered: every frame takes exactly one buffer chain.
      scratch_[10] = 1;
      scratch_[11] = 0;
      std::span<const uint8_t> frame(scratch_.data(), static_cast<size_t>(n));
      if (chain->WritableLength() < frame.size()) {
        devices::GuestWarning("virtio-net rx: dropping a " + std::to_string(frame.size()) +
                              "-byte frame: receive buffer too small");
      } else if (WriteToBuffers(memory, chain->writable, 0, frame)) {
        written = static_cast<uint32_t>(frame.size());
      }
    }
    if (auto r = queue.AddUsed(memory, (*popped)->head, written); !r) {
      devices::GuestWarning("virtio-net rx: " + r.error().ToString());
      receive_armed_ = false;
      return used;
    }
    used = true;
  }
}

}  // namespace hull::vmm::virtio
