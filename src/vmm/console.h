// Console: the host end of the guest's serial console: stdio, an output file, or a listening
// unix socket (one client at a time; a new client replaces the old one).
//
// Guest output never blocks a vCPU: Write() hands bytes to the host without waiting (a
// non-blocking fd of the console's own), and what the host does not take at once waits in a
// bounded buffer that the event loop drains when the fd becomes writable. When the buffer is full
// the oldest bytes are dropped (the latest output, e.g. a panic report, is the most useful) and
// counted in dropped_bytes(). A reader that stops reading therefore costs the guest its console
// output, never its vCPU, and never delays stopping the VM by more than the bounded flush in the
// destructor.
//
// Ownership: owns its fds (its own non-blocking description of stdout, the output file, the
// listening socket and the current client, the wake-up eventfd).
// Thread-safety: Write() is called from vCPU threads (under the serial device's lock) while the
// event loop calls PollFds() and HandleReady(); a mutex guards the output side and the client.
#pragma once

#include <poll.h>
#include <termios.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "linux/unique_fd.h"
#include "vmm/config.h"

namespace hull::vmm {

class Console {
 public:
  // Guest output waiting for a slow reader, at most.
  static constexpr size_t kOutputBufferBytes = 64 * 1024;
  // How long the destructor keeps trying to hand buffered output to the reader.
  static constexpr std::chrono::milliseconds kFinalFlush{100};

  [[nodiscard]] static Result<std::unique_ptr<Console>> Open(const ConsoleConfig& config);
  ~Console();

  // Guest output (from vCPU threads). Never blocks.
  void Write(std::span<const uint8_t> bytes);

  // What the event loop should poll (each fd remains owned by the Console): input fds for
  // POLLIN, the wake-up eventfd, and the output fd for POLLOUT while output is buffered.
  std::vector<pollfd> PollFds() const;
  // Handles the poll result `revents` for `fd`; returns bytes read from the host side for the
  // guest.
  std::vector<uint8_t> HandleReady(int fd, short revents);

  // Guest output lost because the reader did not keep up (buffer full) or went away.
  uint64_t dropped_bytes() const { return dropped_.load(std::memory_order_relaxed); }
  // Output bytes buffered now (for tests and metrics).
  size_t buffered_bytes() const;

 private:
  explicit Console(ConsoleConfig config);

  // Writes buffered output until the fd would block. Caller holds output_mutex_.
  void DrainLocked();
  // Appends to the buffer, dropping the oldest bytes beyond its capacity. Caller holds
  // output_mutex_.
  void BufferLocked(std::span<const uint8_t> bytes);
  // One non-blocking write to the current output fd: bytes taken, or -1 with errno.
  ssize_t WriteSomeLocked(std::span<const uint8_t> bytes);
  // The fd guest output goes to now (-1: none). Caller holds output_mutex_.
  int OutputFdLocked() const {
    return config_.kind == ConsoleConfig::Kind::kSocket ? client_.get() : output_fd_;
  }
  // The output fd failed for good (reader gone): drop what waits and stop writing.
  void OutputFailedLocked();
  // Best effort: hands buffered output to the reader, waiting at most `timeout` in total.
  void Flush(std::chrono::milliseconds timeout);

  ConsoleConfig config_;
  // stdin's terminal settings when it is a terminal we switched to character-at-a-time input
  // (no line editing, no local echo: the guest echoes); restored on destruction.
  std::optional<termios> saved_terminal_;
  int input_fd_ = -1;  // stdin (stdio console)
  // Output: our own non-blocking description of stdout, the output file, or -1.
  int output_fd_ = -1;
  linux::UniqueFd output_owned_;
  // When stdout could not be reopened, O_NONBLOCK is set on the shared description and its
  // flags are restored on destruction.
  std::optional<int> restore_stdout_flags_;
  bool output_is_socket_ = false;  // send(MSG_DONTWAIT) instead of write
  bool reader_gone_ = false;       // the output fd failed for good (guarded by output_mutex_)
  linux::UniqueFd listener_;
  linux::UniqueFd wake_;  // eventfd: Write() signals the event loop that output is waiting

  mutable std::mutex output_mutex_;  // guards the buffer, output_fd_ and client_
  linux::UniqueFd client_;
  std::vector<uint8_t> buffer_;  // ring of kOutputBufferBytes
  size_t buffer_head_ = 0;       // oldest byte
  size_t buffer_size_ = 0;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace hull::vmm
