#include "vmm/vm.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "base/log.h"
#include "vmm/arch/x86_64/acpi.h"
#include "vmm/arch/x86_64/kernel_loader.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/reset_vector.h"
#include "vmm/arch/x86_64/vcpu_setup.h"
#include "vmm/console.h"
#include "vmm/devices/acpi_sleep.h"
#include "vmm/devices/bus.h"
#include "vmm/devices/debug_port.h"
#include "vmm/devices/guest_log.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/interrupt.h"
#include "vmm/devices/ioapic.h"
#include "vmm/devices/panic_detector.h"
#include "vmm/devices/rtc.h"
#include "vmm/devices/serial.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/devices/virtio/mmio.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/devices/virtio/rng.h"
#include "vmm/devices/virtio/vsock.h"
#include "vmm/kvm/kvm_system.h"
#include "vmm/kvm/vcpu_fd.h"
#include "vmm/kvm/vm_fd.h"
#include "vmm/irq_routing.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/seccomp_filter.h"

namespace hull::vmm {
namespace {

constexpr int kKickSignal = SIGUSR2;
constexpr uint64_t kVirtioMmioBase = 0xd0000000;  // in the MMIO gap below 4 GiB
constexpr uint32_t kFirstVirtioGsi = 5;
constexpr int64_t kPanicGraceMs = 2000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void IgnoreKick(int) {}

// An interrupt line on the in-kernel irqchip (PIC and IOAPIC pin `gsi`). Calls are serialised
// so that a pulse (Trigger) from one thread is never interleaved with another's: two pulses
// overlapping as high, high, low, low would merge into one edge and an interrupt would be lost.
class KvmIrqLine : public devices::Interrupt {
 public:
  KvmIrqLine(kvm::VmFd& vm, uint32_t gsi) : vm_(vm), gsi_(gsi) {}
  void SetLevel(bool high) override {
    std::lock_guard lock(mutex_);
    Set(high);
  }
  void Trigger() override {
    std::lock_guard lock(mutex_);
    Set(true);
    Set(false);
  }

 private:
  void Set(bool high) {
    if (auto r = vm_.SetIrqLine(gsi_, high); !r) {
      log::Warning("IRQ " + std::to_string(gsi_) + ": " + r.error().ToString());
    }
  }

  std::mutex mutex_;
  kvm::VmFd& vm_;
  uint32_t gsi_;
};

std::string Hex(uint64_t value) {
  char text[24];
  snprintf(text, sizeof(text), "%#llx", static_cast<unsigned long long>(value));
  return text;
}

// An edge-triggered interrupt through KVM_IRQFD: a write to the eventfd raises the GSI inside
// KVM, without an ioctl from the device's thread. Only rising edges matter (SetLevel(false)
// does nothing), which matches virtio-mmio's edge-described interrupt.
class KvmIrqFd : public devices::Interrupt {
 public:
  static Result<std::unique_ptr<KvmIrqFd>> Create(kvm::VmFd& vm, uint32_t gsi) {
    int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return FailErrno("eventfd for irqfd");
    std::unique_ptr<KvmIrqFd> irq(new KvmIrqFd(linux::UniqueFd(fd)));
    TRY_CTX(vm.RegisterIrqFd(fd, gsi), "GSI " + std::to_string(gsi));
    return irq;
  }
  void SetLevel(bool high) override {
    if (!high) return;
    uint64_t one = 1;
    (void)!::write(fd_.get(), &one, sizeof(one));
  }

 private:
  explicit KvmIrqFd(linux::UniqueFd fd) : fd_(std::move(fd)) {}
  linux::UniqueFd fd_;
};

// A queue notification KVM turns into an eventfd signal (KVM_IOEVENTFD on QueueNotify with the
// queue index as datamatch); the event loop then processes the queue.
struct IoEventBinding {
  linux::UniqueFd fd;
  std::shared_ptr<virtio::MmioTransport> transport;
  uint32_t queue;
};

}  // namespace

struct Vm::State {
  VmConfig config;
  // Guest memory is declared first so that it is unmapped last, after the VM that uses it.
  std::optional<memory::GuestMemory> memory;
  std::optional<kvm::KvmSystem> kvm;
  std::optional<kvm::VmFd> vm;
  // With ACPI: a split irqchip and the IOAPIC in user space (devices/ioapic.h says why).
  std::unique_ptr<KvmMsiRouting> msi_routing;
  std::shared_ptr<devices::IoApic> ioapic;
  std::unique_ptr<Console> console;
  std::unique_ptr<devices::Interrupt> serial_irq, keyboard_irq;
  std::vector<std::unique_ptr<devices::Interrupt>> virtio_irqs;
  std::vector<IoEventBinding> io_events;  // polled by the event loop
  std::vector<std::shared_ptr<virtio::MmioTransport>> transports;
  std::shared_ptr<devices::Serial> serial;
  std::shared_ptr<devices::I8042> i8042;
  devices::IoBus pio_bus, mmio_bus;
  linux::UniqueFd stop_event;

  std::mutex stop_mutex;
  std::atomic<bool> stopping{false};
  std::optional<VmOutcome> outcome;
  // Metrics.
  int64_t created_ms = NowMs();
  std::atomic<uint64_t> io_exits{0}, mmio_exits{0}, other_exits{0}, console_bytes{0};
  devices::PanicDetector panic_detector;  // fed under the serial device's lock
  std::optional<std::string> panic_message;  // guarded by stop_mutex
  // After a panic banner the VM is stopped when the report ends, or after kPanicGrace: a guest
  // with panic=0 would otherwise hang forever. Milliseconds on the steady clock; 0: none.
  std::atomic<int64_t> panic_deadline_ms{0};

  // vCPU threads and the kvm_run areas the event loop pokes to stop them.
  struct VcpuSlot {
    std::thread thread;
    // Created and configured by Create(); lives (with its kvm_run mapping) until the State is
    // destroyed, after the thread has been joined, so the event loop may poke it any time.
    std::optional<kvm::VcpuFd> vcpu;
    void Kick() {
      vcpu->RequestImmediateExit(true);
      if (thread.joinable()) pthread_kill(thread.native_handle(), kKickSignal);
    }
  };
  std::vector<std::unique_ptr<VcpuSlot>> vcpus;
  // Pausing: vCPU threads park on pause_cv while `paused`; `parked` counts them.
  std::mutex pause_mutex;
  std::condition_variable pause_cv;
  std::atomic<bool> paused{false};
  uint32_t parked = 0;
  uint32_t running_threads = 0;  // vCPU threads in their run loop (guarded by pause_mutex)

  void Stop(StopReason reason, int status, std::string detail) {
    {
      std::lock_guard lock(stop_mutex);
      if (outcome) return;
      // A guest that panicked and then rebooted (panic=N) still ends as a panic.
      if (panic_message && (reason == StopReason::kReset || reason == StopReason::kTripleFault ||
                            reason == StopReason::kShutdown)) {
        reason = StopReason::kPanic;
        status = 2;
        detail = "guest kernel panicked: " + *panic_message;
      }
      outcome = VmOutcome{reason, status, std::move(detail)};
    }
    stopping.store(true);
    {
      std::lock_guard lock(pause_mutex);  // parked vCPUs must see `stopping`
    }
    pause_cv.notify_all();
    uint64_t one = 1;
    (void)!::write(stop_event.get(), &one, sizeof(one));
  }

  // Parks the calling vCPU thread while the VM is paused.
  void Park() {
    std::unique_lock lock(pause_mutex);
    ++parked;
    pause_cv.notify_all();
    pause_cv.wait(lock, [this] { return !paused.load() || stopping.load(); });
    --parked;
  }

  void RunVcpu(kvm::VcpuFd& vcpu);
  // Handles one exit; returns false when the vCPU should stop.
  bool HandleExit(kvm::VcpuFd& vcpu, const kvm::VcpuExit& exit);
};

Vm::Vm(std::unique_ptr<State> state) : state_(std::move(state)) {}

Vm::~Vm() {
  if (!state_) return;
  state_->Stop(StopReason::kShutdown, 0, "VM destroyed");
  for (auto& slot : state_->vcpus) {
    slot->Kick();
    if (slot->thread.joinable()) slot->thread.join();
  }
}

void Vm::RequestStop(StopReason reason, int exit_status, std::string detail) {
  state_->Stop(reason, exit_status, std::move(detail));
}

void Vm::SendCtrlAltDel() { state_->i8042->SendCtrlAltDel(); }

Result<std::unique_ptr<Vm>> Vm::Create(const VmConfig& config) {
  TRY(ValidateConfig(config));
  // Stop signals wait (blocked) until Run() reads them, so that SIGTERM during set-up still ends
  // in a clean stop that removes the sockets this creates.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) return Fail("pthread_sigmask");
  // A console reader that goes away must not kill the VMM: writes then fail with EPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  auto s = std::make_unique<State>();
  s->config = config;
  int stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) return FailErrno("eventfd");
  s->stop_event.reset(stop_fd);

  s->kvm.emplace(TRY(kvm::KvmSystem::Open()));
  s->vm.emplace(TRY(s->kvm->CreateVm()));
  kvm::VmFd& vm = *s->vm;
  TRY(vm.SetIdentityMapAddress(x86_64::kKvmIdentityMapAddress));
  TRY(vm.SetTssAddress(x86_64::kKvmTssAddress));
  // Interrupt controllers. With ACPI the guest needs only LAPICs and an IOAPIC: our FADT is
  // hardware-reduced, so Linux uses neither the PIC nor the PIT (its timers are kvm-clock and
  // the LAPIC TSC-deadline timer), and the IOAPIC lives in user space. Without ACPI the guest
  // gets KVM's full in-kernel irqchip (PIC, IOAPIC) and PIT, which legacy boots rely on.
  if (config.acpi) {
    TRY(vm.EnableSplitIrqChip(devices::IoApic::kPins));
  } else {
    TRY(vm.CreateIrqChip());
    TRY(vm.CreatePit2());
  }
  // Guest memory goes to KVM before the ioeventfds below are registered on the VM's I/O bus:
  // each registration starts an SRCU grace period, timer-paced, that a later memslot change
  // would wait out (5-10 ms here). With the split irqchip nothing is on the bus yet and the
  // memslot costs 0.1 ms; without ACPI the in-kernel irqchip's devices are already there, so
  // the first wait falls here (measured: the same 24 ms per stub VM wherever it goes).
  s->memory.emplace(TRY(memory::GuestMemory::Create(
      {config.memory_mib * memory::kMiB, config.memfd, config.hugepages})));
  uint32_t slot = 0;
  for (const memory::Region& r : s->memory->regions())
    TRY(vm.SetUserMemoryRegion(slot++, r.guest_address, r.size, r.host));

  std::vector<kvm_cpuid_entry2> supported_cpuid = TRY(s->kvm->SupportedCpuid());
  std::vector<uint32_t> supported_msrs = TRY(s->kvm->MsrIndexList());
  int max_vcpus = s->kvm->CheckExtension(KVM_CAP_MAX_VCPUS);
  if (max_vcpus > 0 && config.cpus > static_cast<uint32_t>(max_vcpus)) {
    return Fail("cpus: " + std::to_string(config.cpus) + " exceeds this host's KVM limit of " +
                std::to_string(max_vcpus));
  }

  // Devices.
  s->console = TRY(Console::Open(config.console));
  if (config.acpi) {
    s->msi_routing = std::make_unique<KvmMsiRouting>(vm);
    s->ioapic = std::make_shared<devices::IoApic>(0, *s->msi_routing);
    TRY(s->mmio_bus.Register(devices::IoApic::kBaseAddress, devices::IoApic::kWindowSize,
                             s->ioapic, "IOAPIC"));
    s->serial_irq = std::make_unique<devices::IoApicLine>(*s->ioapic, devices::Serial::kCom1Irq);
    s->keyboard_irq =
        std::make_unique<devices::IoApicLine>(*s->ioapic, devices::I8042::kKeyboardIrq);
  } else {
    s->serial_irq = std::make_unique<KvmIrqLine>(vm, devices::Serial::kCom1Irq);
    s->keyboard_irq = std::make_unique<KvmIrqLine>(vm, devices::I8042::kKeyboardIrq);
  }
  Console* console = s->console.get();
  State* state = s.get();
  s->serial = std::make_shared<devices::Serial>(
      *s->serial_irq, [console, state](std::span<const uint8_t> bytes) {
        console->Write(bytes);
        state->console_bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
        if (auto panic = state->panic_detector.Feed(bytes)) {
          log::Error("guest kernel panic: " + *panic);
          std::lock_guard lock(state->stop_mutex);
          state->panic_message = std::move(*panic);
          state->panic_deadline_ms.store(NowMs() + kPanicGraceMs);
        }
        if (state->panic_detector.ended() && state->panic_deadline_ms.load() != 0) {
          state->panic_deadline_ms.store(NowMs());  // the report is complete
          uint64_t one = 1;  // wake the event loop to stop now
          (void)!::write(state->stop_event.get(), &one, sizeof(one));
        }
      });
  s->i8042 = std::make_shared<devices::I8042>(*s->keyboard_irq, [state] {
    state->Stop(StopReason::kReset, 0, "guest reset through the i8042");
  });
  TRY(s->pio_bus.Register(devices::Serial::kCom1Port, devices::Serial::kRegisterCount, s->serial, "serial COM1"));
  TRY(s->pio_bus.Register(devices::I8042::kDataPort, devices::I8042::kPortSpan, s->i8042, "i8042"));
  TRY(s->pio_bus.Register(devices::Rtc::kIndexPort, devices::Rtc::kPortSpan,
                          std::make_shared<devices::Rtc>(), "CMOS RTC"));
  TRY(s->pio_bus.Register(devices::DebugExit::kPort, 1,
                          std::make_shared<devices::DebugExit>([state](uint8_t value) {
                            state->Stop(StopReason::kDebugExit, value,
                                        "guest wrote " + std::to_string(value) + " to the debug-exit port");
                          }),
                          "debug exit"));
  TRY(s->pio_bus.Register(devices::PvPanic::kPort, 1,
                          std::make_shared<devices::PvPanic>([state](uint8_t event) {
                            if (event & devices::PvPanic::kPanicked)
                              state->Stop(StopReason::kPanic, 2, "guest kernel panicked (pvpanic)");
                            else
                              devices::GuestWarning("guest reported a crash-loaded event (pvpanic)");
                          }),
                          "pvpanic"));
  // virtio-mmio devices: one 4 KiB window each from kVirtioMmioBase, GSIs from 5.
  std::vector<std::unique_ptr<virtio::VirtioDevice>> virtio_devices;
  for (const DiskConfig& disk : config.disks)
    virtio_devices.push_back(TRY(virtio::Block::Open(disk.path, disk.read_only, disk.id)));
  for (const NetConfig& net : config.nets) {
    virtio::MacAddress mac = net.mac.empty() ? virtio::RandomMac() : TRY(virtio::ParseMac(net.mac));
    virtio_devices.push_back(TRY(virtio::Net::OpenTap(net.tap, mac)));
  }
  if (config.vsock)
    virtio_devices.push_back(TRY(virtio::Vsock::Open(config.vsock->guest_cid, config.vsock->uds_path)));
  if (config.rng) virtio_devices.push_back(std::make_unique<virtio::Rng>());
  x86_64::acpi::AcpiConfig acpi{config.cpus, {}};
  for (size_t i = 0; i < virtio_devices.size(); ++i) {
    uint64_t address = kVirtioMmioBase + i * virtio::MmioTransport::kWindowSize;
    uint32_t gsi = kFirstVirtioGsi + static_cast<uint32_t>(i);
    s->virtio_irqs.push_back(TRY(KvmIrqFd::Create(vm, gsi)));
    auto transport = std::make_shared<virtio::MmioTransport>(std::move(virtio_devices[i]),
                                                             *s->memory, *s->virtio_irqs.back());
    TRY(s->mmio_bus.Register(address, virtio::MmioTransport::kWindowSize, transport,
                             "virtio-mmio " + std::to_string(i)));
    s->transports.push_back(transport);
    for (uint32_t queue = 0; queue < transport->queue_count(); ++queue) {
      int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (fd < 0) return FailErrno("eventfd for ioeventfd");
      linux::UniqueFd event(fd);
      TRY(vm.RegisterIoEvent(fd, address + virtio::MmioTransport::kQueueNotify, 4, queue));
      s->io_events.push_back({std::move(event), transport, queue});
    }
    acpi.virtio_devices.push_back({address, virtio::MmioTransport::kWindowSize, gsi});
  }
  // Kernels find the virtio devices through the DSDT, or without ACPI through the command line
  // (virtio_mmio.device=SIZE@BASE:IRQ, for kernels with VIRTIO_MMIO_CMDLINE_DEVICES).
  x86_64::BootSource boot = config.boot;
  x86_64::BootOptions boot_options;
  if (config.acpi) {
    TRY(x86_64::acpi::WriteTables(*s->memory, acpi));
    boot_options.acpi_rsdp = x86_64::acpi::kRsdpAddress;
  } else {
    for (const auto& device : acpi.virtio_devices) {
      char item[80];
      snprintf(item, sizeof(item), " virtio_mmio.device=4K@%#llx:%u",
               static_cast<unsigned long long>(device.address), device.irq);
      boot.cmdline += item;
    }
  }
  // Before the kernel: an image that loads itself over the BIOS area keeps its own bytes.
  TRY(x86_64::WriteResetVector(*s->memory));
  x86_64::BootInfo boot_info = TRY(x86_64::LoadBootSource(*s->memory, boot, boot_options));

  TRY(s->pio_bus.Register(x86_64::acpi::kSleepControlPort, devices::AcpiSleepControl::kPortSpan,
                          std::make_shared<devices::AcpiSleepControl>([state](uint8_t type) {
                            if (type == x86_64::acpi::kS5SleepType)
                              state->Stop(StopReason::kShutdown, 0, "guest powered off (ACPI S5)");
                            else
                              devices::GuestWarning("guest asked for unsupported sleep type " + std::to_string(type));
                          }),
                          "ACPI sleep control"));

  // Every vCPU now, on this thread: a failure is reported by Create() before anything runs, and
  // the vCPU threads need no handshake with this one to start. KVM ties a vCPU to the thread of
  // its first KVM_RUN, so configuring it here costs nothing later (api.rst warns only about
  // moving a vCPU between threads once it has run).
  for (uint32_t id = 0; id < config.cpus; ++id) {
    auto vcpu_slot = std::make_unique<State::VcpuSlot>();
    vcpu_slot->vcpu.emplace(TRY(vm.CreateVcpu(id)));
    x86_64::VcpuSetup vcpu_setup{&boot_info, &supported_cpuid, &supported_msrs, config.cpus};
    TRY_CTX(x86_64::ConfigureVcpu(*vcpu_slot->vcpu, vcpu_setup), "vCPU " + std::to_string(id));
    s->vcpus.push_back(std::move(vcpu_slot));
  }

  return std::unique_ptr<Vm>(new Vm(std::move(s)));
}

bool Vm::State::HandleExit(kvm::VcpuFd& vcpu, const kvm::VcpuExit& exit) {
  std::string who = "vCPU " + std::to_string(vcpu.id());
  if (auto* io = std::get_if<kvm::IoExit>(&exit)) {
    io_exits.fetch_add(1, std::memory_order_relaxed);
    for (uint32_t i = 0; i < io->count; ++i) {
      auto item = io->data.subspan(size_t{i} * io->size, io->size);
      if (io->in) pio_bus.Read(io->port, item);
      else pio_bus.Write(io->port, item);
    }
    return true;
  }
  if (auto* mmio = std::get_if<kvm::MmioExit>(&exit)) {
    mmio_exits.fetch_add(1, std::memory_order_relaxed);
    bool handled = mmio->write ? mmio_bus.Write(mmio->address, mmio->data)
                               : mmio_bus.Read(mmio->address, mmio->data);
    if (!handled) log::Debug(who + ": unhandled MMIO at " + Hex(mmio->address));
    return true;
  }
  other_exits.fetch_add(1, std::memory_order_relaxed);
  if (auto* eoi = std::get_if<kvm::IoApicEoiExit>(&exit)) {
    if (ioapic) ioapic->EndOfInterrupt(eoi->vector);
    return true;
  }
  if (std::holds_alternative<kvm::InterruptedExit>(exit)) return !stopping.load();
  if (std::holds_alternative<kvm::HltExit>(exit)) {
    Stop(StopReason::kShutdown, 0, who + " halted");
    return false;
  }
  if (std::holds_alternative<kvm::ShutdownExit>(exit)) {
    Stop(StopReason::kTripleFault, 0, who + ": triple fault, treated as a reset");
    return false;
  }
  if (auto* event = std::get_if<kvm::SystemEventExit>(&exit)) {
    if (event->type == KVM_SYSTEM_EVENT_CRASH) Stop(StopReason::kPanic, 2, who + ": guest crashed");
    else if (event->type == KVM_SYSTEM_EVENT_RESET) Stop(StopReason::kReset, 0, who + ": system reset");
    else Stop(StopReason::kShutdown, 0, who + ": system event " + std::to_string(event->type));
    return false;
  }
  std::string detail;
  if (auto* internal = std::get_if<kvm::InternalErrorExit>(&exit)) {
    detail = "KVM internal error, suberror " + std::to_string(internal->suberror);
    for (uint64_t word : internal->data) detail += " " + Hex(word);
  } else if (auto* fail = std::get_if<kvm::FailEntryExit>(&exit)) {
    detail = "VM entry failed, hardware reason " + Hex(fail->hardware_reason);
  } else if (auto* unknown = std::get_if<kvm::UnknownExit>(&exit)) {
    detail = "unexpected KVM exit reason " + std::to_string(unknown->reason);
  }
  if (auto regs = vcpu.GetRegs()) detail += " (rip " + Hex(regs->rip) + ")";
  Stop(StopReason::kError, 1, who + ": " + detail);
  return false;
}

void Vm::State::RunVcpu(kvm::VcpuFd& vcpu) {
  {
    std::lock_guard lock(pause_mutex);
    ++running_threads;
  }
  while (!stopping.load()) {
    if (paused.load()) {
      Park();
      continue;
    }
    Result<kvm::VcpuExit> exit = vcpu.Run();
    if (!exit) {
      Stop(StopReason::kError, 1,
           "vCPU " + std::to_string(vcpu.id()) + ": " + exit.error().ToString());
      break;
    }
    if (std::holds_alternative<kvm::InterruptedExit>(*exit)) {
      // Kicked by Pause() or Stop(): clear the request and look at the flags again.
      if (!stopping.load()) vcpu.RequestImmediateExit(false);
      continue;
    }
    if (!HandleExit(vcpu, *exit)) break;
  }
  {
    std::lock_guard lock(pause_mutex);
    --running_threads;
  }
  pause_cv.notify_all();
}

Result<void> Vm::Pause() {
  State& s = *state_;
  s.paused.store(true);
  for (auto& slot : s.vcpus) slot->Kick();
  std::unique_lock lock(s.pause_mutex);
  bool parked = s.pause_cv.wait_for(lock, std::chrono::seconds(2), [&s] {
    return s.parked >= s.running_threads || s.stopping.load();
  });
  if (!parked) return Fail("vCPUs did not pause within 2 s");
  return {};
}

void Vm::Resume() {
  State& s = *state_;
  {
    std::lock_guard lock(s.pause_mutex);
    s.paused.store(false);
  }
  s.pause_cv.notify_all();
}

bool Vm::paused() const { return state_->paused.load(); }

Vm::Metrics Vm::GetMetrics() const {
  const State& s = *state_;
  return {static_cast<uint64_t>(NowMs() - s.created_ms),
          s.io_exits.load(),
          s.mmio_exits.load(),
          s.other_exits.load(),
          s.console_bytes.load(),
          s.console->dropped_bytes()};
}

Result<VmOutcome> Vm::Run(EventSource* extra) {
  State& s = *state_;
  // Stop signals come through a signalfd; the kick signal interrupts KVM_RUN.
  struct sigaction kick {};
  kick.sa_handler = IgnoreKick;  // no SA_RESTART: KVM_RUN returns EINTR
  sigemptyset(&kick.sa_mask);
  if (::sigaction(kKickSignal, &kick, nullptr) < 0) return FailErrno("sigaction");
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) return Fail("pthread_sigmask");
  int signal_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) return FailErrno("signalfd");
  linux::UniqueFd signals(signal_fd);

  // From here on every VMM thread runs under the allow-list.
  TRY(InstallSeccompFilter(TRY(ParseSeccompMode(s.config.seccomp))));

  // The vCPUs exist and are configured (Create()): the threads only run them, so the guest
  // starts as soon as a thread is scheduled, with no handshake with this one first.
  for (auto& slot : s.vcpus) {
    kvm::VcpuFd* vcpu = &*slot->vcpu;
    slot->thread = std::thread([&s, vcpu] { s.RunVcpu(*vcpu); });
  }

  while (!s.stopping.load()) {
    std::vector<pollfd> fds = {{signal_fd, POLLIN, 0}, {s.stop_event.get(), POLLIN, 0}};
    for (const IoEventBinding& event : s.io_events) fds.push_back({event.fd.get(), POLLIN, 0});
    size_t device_start = fds.size();
    std::vector<virtio::MmioTransport*> polling;
    for (const auto& transport : s.transports) {
      if (int fd = transport->PollFd(); fd >= 0) {
        fds.push_back({fd, POLLIN, 0});
        polling.push_back(transport.get());
      }
    }
    size_t console_start = fds.size();
    for (pollfd console_fd : s.console->PollFds()) fds.push_back(console_fd);
    size_t extra_start = fds.size();
    if (extra != nullptr)
      for (int fd : extra->PollFds()) fds.push_back({fd, POLLIN, 0});
    int timeout = -1;
    if (int64_t deadline = s.panic_deadline_ms.load(); deadline != 0) {
      int64_t left = deadline - NowMs();
      if (left <= 0) {
        std::string message;
        {
          std::lock_guard lock(s.stop_mutex);
          message = s.panic_message.value_or("");
        }
        s.Stop(StopReason::kPanic, 2, "guest kernel panicked: " + message);
        break;
      }
      timeout = static_cast<int>(left);
    }
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) return FailErrno("poll");
    if (n <= 0) continue;
    if (fds[1].revents & POLLIN) {
      uint64_t count;
      (void)!::read(s.stop_event.get(), &count, sizeof(count));
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      if (::read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
        s.Stop(StopReason::kSignal, 0, std::string("stopped by ") + strsignal(info.ssi_signo));
      }
    }
    for (size_t i = device_start; i < console_start; ++i) {
      if (fds[i].revents != 0) polling[i - device_start]->HandlePollReady();
    }
    for (size_t i = 2; i < device_start; ++i) {
      if (fds[i].revents == 0) continue;
      IoEventBinding& event = s.io_events[i - 2];
      uint64_t count;
      if (::read(event.fd.get(), &count, sizeof(count)) == sizeof(count)) event.transport->Notify(event.queue);
    }
    for (size_t i = extra_start; i < fds.size(); ++i) {
      if (fds[i].revents != 0) extra->HandleReadable(fds[i].fd);
    }
    for (size_t i = console_start; i < extra_start; ++i) {
      if (fds[i].revents == 0) continue;
      std::vector<uint8_t> input = s.console->HandleReady(fds[i].fd, fds[i].revents);
      if (!input.empty()) s.serial->QueueInput(input);
    }
  }

  // immediate_exit stops a vCPU about to enter KVM_RUN; the signal kicks one already inside.
  for (auto& slot : s.vcpus) slot->Kick();
  for (auto& slot : s.vcpus) {
    if (slot->thread.joinable()) slot->thread.join();
  }
  std::lock_guard lock(s.stop_mutex);
  return *s.outcome;
}

}  // namespace hull::vmm
