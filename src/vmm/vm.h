// Vm: one microVM built from a VmConfig: guest memory, ACPI tables, the in-kernel irqchip (and
// PIT, without ACPI), the legacy devices (COM1 console, i8042, CMOS RTC, debug-exit and pvpanic
// ports) and one thread per vCPU. Run() blocks until the guest resets, shuts down or
// triple-faults, the debug-exit port is written, a fatal vCPU error happens, or SIGTERM/SIGINT
// arrives.
//
// Threads: the caller's thread runs the event loop (signals, console input, and virtio queue
// notifications that KVM delivers through ioeventfds); Create() creates and configures the
// vCPUs on the calling thread, and Run() gives each its own thread to run on. Create() blocks
// SIGTERM and SIGINT in the calling thread (Run() reads them from a signalfd, also those that
// arrived during set-up) and Run() uses SIGUSR2 to kick vCPU threads out of KVM_RUN; call both
// from the process's main thread before other threads exist.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "vmm/config.h"

namespace hull::vmm {

enum class StopReason {
  kReset,        // i8042 reset or KVM_SYSTEM_EVENT_RESET
  kShutdown,     // KVM_SYSTEM_EVENT_SHUTDOWN or a halted vCPU with nothing left to do
  kTripleFault,  // KVM_EXIT_SHUTDOWN
  kDebugExit,    // port 0xf4 written
  kSignal,       // SIGTERM or SIGINT
  kPanic,        // pvpanic, KVM_SYSTEM_EVENT_CRASH, or a Linux panic banner on the console
                 // before the guest reset
  kError,        // a vCPU failed (internal error, failed entry, ...)
};

struct VmOutcome {
  StopReason reason = StopReason::kShutdown;
  int exit_status = 0;  // what hull-vmm exits with
  std::string detail;   // human-readable
};

// Extra fds for the VM's event loop (the API socket): polled for readability together with the
// VM's own; HandleReadable runs on the event loop thread.
class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual std::vector<int> PollFds() = 0;
  virtual void HandleReadable(int fd) = 0;
};

class Vm {
 public:
  // Opens /dev/kvm, creates the VM, its memory and devices, and loads the boot source.
  [[nodiscard]] static Result<std::unique_ptr<Vm>> Create(const VmConfig& config);
  ~Vm();

  // Runs the vCPUs until the VM stops; `extra` (may be null, must outlive the call) is served by
  // the event loop too.
  [[nodiscard]] Result<VmOutcome> Run(EventSource* extra = nullptr);

  // Pause parks every vCPU outside KVM_RUN and returns once they are parked; Resume lets them
  // run again. Both thread-safe; for the event loop thread (API requests).
  [[nodiscard]] Result<void> Pause();
  void Resume();
  bool paused() const;

  // Counters since the VM was created (thread-safe snapshot).
  struct Metrics {
    uint64_t uptime_ms = 0;
    uint64_t io_exits = 0;
    uint64_t mmio_exits = 0;
    uint64_t other_exits = 0;
    uint64_t console_bytes = 0;  // guest output on the serial console
    uint64_t console_dropped_bytes = 0;  // of which lost: the console's reader did not keep up
  };
  Metrics GetMetrics() const;

  // Requests a stop from any thread; the first request wins.
  void RequestStop(StopReason reason, int exit_status, std::string detail);
  // Injects Ctrl-Alt-Del through the i8042 (thread-safe).
  void SendCtrlAltDel();

  struct State;  // defined in vm.cc

 private:
  explicit Vm(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace hull::vmm
