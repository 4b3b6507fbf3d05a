#include "vmm/devices/virtio/rng.h"

#include <sys/random.h>

#include <vector>

#include "base/log.h"
#include "vmm/devices/guest_log.h"

namespace hull::vmm::virtio {

uint32_t Rng::ProcessQueue(const memory::GuestMemory& memory, std::span<Queue> queues,
                           size_t index) {
  return index < queues.size() && Serve(memory, queues[index]) ? 1u << index : 0;
}

bool Rng::Serve(const memory::GuestMemory& memory, Queue& queue) {
  bool used = false;
  while (true) {
    auto popped = queue.PopChain(memory);
    if (!popped) {
      devices::GuestWarning("virtio-rng: " + popped.error().ToString());
      return used;
    }
    if (!*popped) return used;
    uint32_t written = 0;
    if (!(*popped)->chain) {
      devices::GuestWarning("virtio-rng: bad request: " + (*popped)->chain.error().ToString());
    } else {
      const Chain& chain = *(*popped)->chain;
      std::vector<uint8_t> bytes(std::min<uint64_t>(chain.WritableLength(), kMaxRequest));
      size_t filled = 0;
      while (filled < bytes.size()) {
        ssize_t n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        filled += static_cast<size_t>(n);
      }
      bytes.resize(filled);
      if (WriteToBuffers(memory, chain.writable, 0, bytes)) written = static_cast<uint32_t>(filled);
    }
    if (auto r = queue.AddUsed(memory, (*popped)->head, written); !r) {
      devices::GuestWarning("virtio-rng: " + r.error().ToString());
      return used;
    }
    used = true;
  }
}

}  // namespace hull::vmm::virtio
