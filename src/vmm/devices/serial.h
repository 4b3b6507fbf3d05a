// Serial: a 16550A-compatible UART (the 8250 family) at one of the PC COM ports, used as the
// guest console. Output bytes go to a sink function; input is queued by the host side with
// QueueInput(). The INTR output (received data available / transmitter empty) drives an
// Interrupt as a level.
//
// The guest sees a transmitter that is always ready: a byte written to THR is handed to the
// sink at once, so the THR-empty interrupt is raised again right away when enabled.
//
// Thread-safety: all methods may be called concurrently (vCPU threads, the console thread);
// one mutex guards the state. The sink is called with that mutex held, so it must not call
// back into the Serial.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "vmm/devices/bus.h"
#include "vmm/devices/interrupt.h"

namespace hull::vmm::devices {

class Serial : public BusDevice {
 public:
  using Sink = std::function<void(std::span<const uint8_t>)>;

  static constexpr uint16_t kCom1Port = 0x3f8;
  static constexpr uint32_t kCom1Irq = 4;
  static constexpr uint64_t kRegisterCount = 8;
  static constexpr size_t kInputCapacity = 4096;

  // Register offsets (DLAB clear unless noted).
  static constexpr uint8_t kData = 0;           // RBR read, THR write; DLL with DLAB
  static constexpr uint8_t kInterruptEnable = 1;  // IER; DLM with DLAB
  static constexpr uint8_t kInterruptId = 2;      // IIR read, FCR write
  static constexpr uint8_t kLineControl = 3;
  static constexpr uint8_t kModemControl = 4;
  static constexpr uint8_t kLineStatus = 5;
  static constexpr uint8_t kModemStatus = 6;
  static constexpr uint8_t kScratch = 7;

  static constexpr uint8_t kIerReceivedData = 0x01;
  static constexpr uint8_t kIerTransmitterEmpty = 0x02;
  static constexpr uint8_t kIirNoInterrupt = 0x01;
  static constexpr uint8_t kIirTransmitterEmpty = 0x02;
  static constexpr uint8_t kIirReceivedData = 0x04;
  static constexpr uint8_t kIirFifoEnabled = 0xc0;
  static constexpr uint8_t kLcrDivisorLatch = 0x80;
  static constexpr uint8_t kMcrLoopback = 0x10;
  static constexpr uint8_t kLsrDataReady = 0x01;
  static constexpr uint8_t kLsrThrEmpty = 0x20;
  static constexpr uint8_t kLsrTransmitterEmpty = 0x40;

  // `interrupt` must outlive this object.
  Serial(Interrupt& interrupt, Sink sink);

  void Read(uint64_t offset, std::span<uint8_t> data) override;
  void Write(uint64_t offset, std::span<const uint8_t> data) override;

  // Queues bytes from the host for the guest to read; returns how many fit.
  size_t QueueInput(std::span<const uint8_t> bytes);

 private:
  uint8_t ReadRegister(uint8_t offset);
  void WriteRegister(uint8_t offset, uint8_t value);
  void UpdateInterrupt();  // with mutex_ held

  std::mutex mutex_;
  Interrupt& interrupt_;
  Sink sink_;
  std::deque<uint8_t> input_;
  bool interrupt_level_ = false;
  bool thr_empty_pending_ = false;  // THR-empty interrupt condition, cleared by reading IIR
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0x03;  // 8N1
  uint8_t mcr_ = 0x08;  // OUT2: the PC's interrupt enable gate
  uint8_t fcr_ = 0;
  uint8_t scratch_ = 0;
  uint8_t divisor_low_ = 0x0c;  // 9600 baud
  uint8_t divisor_high_ = 0;
};

}  // namespace hull::vmm::devices
