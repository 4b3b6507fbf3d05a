#include "vmm/devices/serial.h"

namespace hull::vmm::devices {

Serial::Serial(Interrupt& interrupt, Sink sink) : interrupt_(interrupt), sink_(std::move(sink)) {}

void Serial::Read(uint64_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  std::fill(data.begin(), data.end(), 0);
  if (offset >= kRegisterCount) return;
  std::lock_guard lock(mutex_);
  data[0] = ReadRegister(static_cast<uint8_t>(offset));
}

void Serial::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty() || offset >= kRegisterCount) return;
  std::lock_guard lock(mutex_);
  WriteRegister(static_cast<uint8_t>(offset), data[0]);
}

size_t Serial::QueueInput(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  size_t room = kInputCapacity - std::min(kInputCapacity, input_.size());
  size_t n = std::min(room, bytes.size());
  input_.insert(input_.end(), bytes.begin(), bytes.begin() + n);
  UpdateInterrupt();
  return n;
}

uint8_t Serial::ReadRegister(uint8_t offset) {
  bool dlab = lcr_ & kLcrDivisorLatch;
  switch (offset) {
    case kData: {
      if (dlab) return divisor_low_;
      if (input_.empty()) return 0;
      uint8_t byte = input_.front();
      input_.pop_front();
      UpdateInterrupt();
      return byte;
    }
    case kInterruptEnable:
      return dlab ? divisor_high_ : ier_;
    case kInterruptId: {
      uint8_t fifo = (fcr_ & 1) ? kIirFifoEnabled : 0;
      if ((ier_ & kIerReceivedData) && !input_.empty()) return fifo | kIirReceivedData;
      if ((ier_ & kIerTransmitterEmpty) && thr_empty_pending_) {
        // Reading IIR while it reports THR empty clears that condition.
        thr_empty_pending_ = false;
        UpdateInterrupt();
        return fifo | kIirTransmitterEmpty;
      }
      return fifo | kIirNoInterrupt;
    }
    case kLineControl:
      return lcr_;
    case kModemControl:
      return mcr_;
    case kLineStatus:
      return kLsrThrEmpty | kLsrTransmitterEmpty | (input_.empty() ? 0 : kLsrDataReady);
    case kModemStatus:
      if (mcr_ & kMcrLoopback) {
        // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
        return static_cast<uint8_t>(((mcr_ & 0x01) << 5) | ((mcr_ & 0x02) << 3) |
                                    ((mcr_ & 0x04) << 4) | ((mcr_ & 0x08) << 4));
      }
      return 0xb0;  // DCD, DSR, CTS: a connected line
    case kScratch:
      return scratch_;
  }
  return 0;
}

void Serial::WriteRegister(uint8_t offset, uint8_t value) {
  bool dlab = lcr_ & kLcrDivisorLatch;
  switch (offset) {
    case kData:
      if (dlab) {
        divisor_low_ = value;
        return;
      }
      if (mcr_ & kMcrLoopback) {
        if (input_.size() < kInputCapacity) input_.push_back(value);
      } else {
        sink_(std::span<const uint8_t>(&value, 1));
      }
      thr_empty_pending_ = true;
      UpdateInterrupt();
      return;
    case kInterruptEnable:
      if (dlab) {
        divisor_high_ = value;
        return;
      }
      // Enabling the THR-empty interrupt while the transmitter is empty raises it at once,
      // which is what the Linux 8250 driver waits for before it starts sending.
      if ((value & kIerTransmitterEmpty) && !(ier_ & kIerTransmitterEmpty)) thr_empty_pending_ = true;
      ier_ = value & 0x0f;
      UpdateInterrupt();
      return;
    case kInterruptId:
      fcr_ = value;
      if (value & 0x02) input_.clear();  // receive FIFO reset
      UpdateInterrupt();
      return;
    case kLineControl:
      lcr_ = value;
      return;
    case kModemControl:
      mcr_ = value & 0x1f;
      return;
    case kScratch:
      scratch_ = value;
      return;
    default:
      return;  // LSR and MSR are read-only
  }
}

void Serial::UpdateInterrupt() {
  bool level = ((ier_ & kIerReceivedData) && !input_.empty()) ||
               ((ier_ & kIerTransmitterEmpty) && thr_empty_pending_);
  if (level != interrupt_level_) {
    interrupt_level_ = level;
    interrupt_.SetLevel(level);
  }
}

}  // namespace hull::vmm::devices
