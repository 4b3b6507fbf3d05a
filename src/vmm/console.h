// Console: the host end of the guest's serial console: stdio, an output file, or a listening
// unix socket (one client at a time; a new client replaces the old one).
//
// Ownership: owns its fds (the output file, the listening socket and the current client).
// Thread-safety: Write() is called from vCPU threads (under the serial device's lock) while
// the event loop calls the fd-handling methods; a mutex guards the client fd.
#pragma once

#include <cstdint>
#include <termios.h>

#include <memory>
#include <optional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"
#include "vmm/config.h"

namespace hull::vmm {

class Console {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Console>> Open(const ConsoleConfig& config);
  ~Console();

  // Guest output. Never blocks for long: a slow socket client loses output rather than
  // stalling the vCPU.
  void Write(std::span<const uint8_t> bytes);

  // fds the event loop should watch for input (each remains owned by the Console).
  std::vector<int> PollFds() const;
  // Handles readiness of `fd`; returns bytes read from the host side for the guest.
  std::vector<uint8_t> HandleReadable(int fd);

 private:
  explicit Console(ConsoleConfig config) : config_(std::move(config)) {}

  ConsoleConfig config_;
  // stdin's terminal settings when it is a terminal we switched to character-at-a-time input
  // (no line editing, no local echo: the guest echoes); restored on destruction.
  std::optional<termios> saved_terminal_;
  int output_fd_ = -1;        // stdout, or output_file_
  int input_fd_ = -1;         // stdin (stdio console)
  linux::UniqueFd output_file_;
  linux::UniqueFd listener_;
  mutable std::mutex client_mutex_;
  linux::UniqueFd client_;
};

}  // namespace hull::vmm
