// Legacy devices against a fake interrupt line: the I/O bus, the 16550 UART, the CMOS RTC, the
// i8042 and the debug ports.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vmm/devices/bus.h"
#include "vmm/devices/debug_port.h"
#include "vmm/devices/guest_log.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/panic_detector.h"
#include "vmm/devices/rtc.h"
#include "vmm/devices/serial.h"

namespace hull::vmm::devices {
namespace {

class FakeInterrupt : public Interrupt {
 public:
  void SetLevel(bool high) override {
    if (high && !level) ++rising_edges;
    level = high;
  }
  bool level = false;
  int rising_edges = 0;
};

uint8_t In(BusDevice& device, uint64_t offset) {
  uint8_t value = 0;
  device.Read(offset, std::span(&value, 1));
  return value;
}
void Out(BusDevice& device, uint64_t offset, uint8_t value) {
  device.Write(offset, std::span<const uint8_t>(&value, 1));
}

class Recorder : public BusDevice {
 public:
  void Read(uint64_t offset, std::span<uint8_t> data) override {
    reads.push_back(offset);
    std::fill(data.begin(), data.end(), 0x5a);
  }
  void Write(uint64_t offset, std::span<const uint8_t> data) override {
    writes.emplace_back(offset, data[0]);
  }
  std::vector<uint64_t> reads;
  std::vector<std::pair<uint64_t, uint8_t>> writes;
};

TEST(VmmIoBus, DispatchesByRangeWithOffsets) {
  IoBus bus;
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  ASSERT_TRUE(bus.Register(0x3f8, 8, a, "a"));
  ASSERT_TRUE(bus.Register(0x60, 5, b, "b"));
  uint8_t byte = 0;
  EXPECT_TRUE(bus.Read(0x3fd, std::span(&byte, 1)));
  EXPECT_EQ(byte, 0x5a);
  EXPECT_EQ(a->reads, std::vector<uint64_t>{5});
  uint8_t value = 0xfe;
  EXPECT_TRUE(bus.Write(0x64, std::span<const uint8_t>(&value, 1)));
  ASSERT_EQ(b->writes.size(), 1u);
  EXPECT_EQ(b->writes[0], std::make_pair(uint64_t{4}, uint8_t{0xfe}));
}

TEST(VmmIoBus, UnclaimedReadsAreAllOnesAndOverlapsAreRejected) {
  IoBus bus;
  auto a = std::make_shared<Recorder>();
  ASSERT_TRUE(bus.Register(0x100, 0x10, a, "first"));
  uint32_t word = 0;
  EXPECT_FALSE(bus.Read(0x200, std::span(reinterpret_cast<uint8_t*>(&word), 4)));
  EXPECT_EQ(word, 0xffffffffu);
  EXPECT_FALSE(bus.Read(0x10e, std::span(reinterpret_cast<uint8_t*>(&word), 4)))
      << "an access straddling the end of a range is not dispatched";
  auto overlap = bus.Register(0x108, 0x10, a, "second");
  ASSERT_FALSE(overlap);
  EXPECT_NE(overlap.error().ToString().find("\"first\""), std::string::npos);
  EXPECT_FALSE(bus.Register(UINT64_MAX - 1, 4, a, "wraps"));
}

class VmmSerial : public ::testing::Test {
 protected:
  FakeInterrupt irq_;
  std::string output_;
  Serial serial_{irq_, [this](std::span<const uint8_t> b) { output_.append(b.begin(), b.end()); }};
};

TEST_F(VmmSerial, ResetState) {
  EXPECT_EQ(In(serial_, Serial::kLineStatus), 0x60) << "THR and transmitter empty";
  EXPECT_EQ(In(serial_, Serial::kInterruptId), Serial::kIirNoInterrupt);
  EXPECT_EQ(In(serial_, Serial::kInterruptEnable), 0);
  EXPECT_FALSE(irq_.level);
}

TEST_F(VmmSerial, TransmitsBytes) {
  for (char c : std::string("hello")) Out(serial_, Serial::kData, static_cast<uint8_t>(c));
  EXPECT_EQ(output_, "hello");
  EXPECT_FALSE(irq_.level) << "THR-empty interrupt not enabled";
}

TEST_F(VmmSerial, ThrEmptyInterruptRaisedOnEnableAndClearedByIir) {
  Out(serial_, Serial::kInterruptEnable, Serial::kIerTransmitterEmpty);
  EXPECT_TRUE(irq_.level) << "enabling ETBEI with an empty THR raises the interrupt";
  EXPECT_EQ(In(serial_, Serial::kInterruptId), Serial::kIirTransmitterEmpty);
  EXPECT_FALSE(irq_.level) << "reading IIR clears the THR-empty condition";
  EXPECT_EQ(In(serial_, Serial::kInterruptId), Serial::kIirNoInterrupt);
  Out(serial_, Serial::kData, 'x');
  EXPECT_TRUE(irq_.level) << "each transmitted byte empties THR again";
  EXPECT_EQ(irq_.rising_edges, 2);
  Out(serial_, Serial::kInterruptEnable, 0);
  EXPECT_FALSE(irq_.level);
}

TEST_F(VmmSerial, ReceivedDataInterruptAndLineStatus) {
  Out(serial_, Serial::kInterruptEnable, Serial::kIerReceivedData);
  EXPECT_FALSE(irq_.level);
  const uint8_t input[] = {'a', 'b'};
  EXPECT_EQ(serial_.QueueInput(input), 2u);
  EXPECT_TRUE(irq_.level);
  EXPECT_EQ(In(serial_, Serial::kLineStatus) & Serial::kLsrDataReady, Serial::kLsrDataReady);
  EXPECT_EQ(In(serial_, Serial::kInterruptId), Serial::kIirReceivedData);
  EXPECT_EQ(In(serial_, Serial::kData), 'a');
  EXPECT_TRUE(irq_.level);
  EXPECT_EQ(In(serial_, Serial::kData), 'b');
  EXPECT_FALSE(irq_.level);
  EXPECT_EQ(In(serial_, Serial::kLineStatus) & Serial::kLsrDataReady, 0);
  EXPECT_EQ(In(serial_, Serial::kData), 0) << "reading an empty receiver is harmless";
}

TEST_F(VmmSerial, InputIsBounded) {
  std::vector<uint8_t> flood(Serial::kInputCapacity + 100, 'z');
  EXPECT_EQ(serial_.QueueInput(flood), Serial::kInputCapacity);
  EXPECT_EQ(serial_.QueueInput(flood), 0u);
}

TEST_F(VmmSerial, DivisorLatchAndScratch) {
  Out(serial_, Serial::kLineControl, Serial::kLcrDivisorLatch | 0x03);
  Out(serial_, Serial::kData, 0x01);
  Out(serial_, Serial::kInterruptEnable, 0x00);
  EXPECT_EQ(In(serial_, Serial::kData), 0x01);
  EXPECT_TRUE(output_.empty()) << "DLL writes are not output";
  Out(serial_, Serial::kLineControl, 0x03);
  Out(serial_, Serial::kScratch, 0x42);
  EXPECT_EQ(In(serial_, Serial::kScratch), 0x42);
}

TEST_F(VmmSerial, LoopbackAsTheLinuxProbeExpects) {
  Out(serial_, Serial::kModemControl, Serial::kMcrLoopback | 0x0a);
  EXPECT_EQ(In(serial_, Serial::kModemStatus) & 0xf0, 0x90);
  Out(serial_, Serial::kData, 'L');
  EXPECT_TRUE(output_.empty());
  EXPECT_EQ(In(serial_, Serial::kData), 'L');
  Out(serial_, Serial::kModemControl, 0x0b);
  EXPECT_EQ(In(serial_, Serial::kModemStatus), 0xb0);
}

TEST_F(VmmSerial, WideAndOutOfRangeAccessesAreHarmless) {
  uint32_t word = 0xffffffff;
  serial_.Read(Serial::kLineStatus, std::span(reinterpret_cast<uint8_t*>(&word), 4));
  EXPECT_EQ(word, 0x60u);
  EXPECT_EQ(In(serial_, 100), 0);
  Out(serial_, 100, 1);
  serial_.Write(0, {});
}

TEST(VmmRtc, ReportsTheTimeInBcd) {
  // 2024-02-29 13:45:56 UTC, a Thursday.
  Rtc rtc([] { return time_t{1709214356}; });
  auto read = [&](uint8_t index) {
    Out(rtc, 0, index);
    return In(rtc, 1);
  };
  EXPECT_EQ(read(Rtc::kSeconds), 0x56);
  EXPECT_EQ(read(Rtc::kMinutes), 0x45);
  EXPECT_EQ(read(Rtc::kHours), 0x13);
  EXPECT_EQ(read(Rtc::kDayOfMonth), 0x29);
  EXPECT_EQ(read(Rtc::kMonth), 0x02);
  EXPECT_EQ(read(Rtc::kYear), 0x24);
  EXPECT_EQ(read(Rtc::kCentury), 0x20);
  EXPECT_EQ(read(Rtc::kWeekday), 0x05);
  EXPECT_EQ(read(Rtc::kStatusA) & 0x80, 0) << "update never in progress";
  EXPECT_EQ(read(Rtc::kStatusB), 0x02) << "24-hour BCD";
  EXPECT_EQ(read(Rtc::kStatusD), 0x80) << "valid RAM and time";
  EXPECT_EQ(read(0x80 | Rtc::kSeconds), 0x56) << "bit 7 of the index is the NMI mask";
}

TEST(VmmRtc, CmosRamKeepsBytesButNotTheClock) {
  Rtc rtc([] { return time_t{0}; });
  Out(rtc, 0, 0x40);
  Out(rtc, 1, 0xab);
  Out(rtc, 0, Rtc::kSeconds);
  Out(rtc, 1, 0x33);
  Out(rtc, 0, 0x40);
  EXPECT_EQ(In(rtc, 1), 0xab);
  Out(rtc, 0, Rtc::kSeconds);
  EXPECT_EQ(In(rtc, 1), 0x00);
}

class VmmI8042 : public ::testing::Test {
 protected:
  FakeInterrupt irq_;
  int resets_ = 0;
  I8042 i8042_{irq_, [this] { ++resets_; }};
};

TEST_F(VmmI8042, ResetCommand) {
  Out(i8042_, I8042::kStatusOffset, I8042::kCommandResetCpu);
  EXPECT_EQ(resets_, 1);
}

TEST_F(VmmI8042, ResetThroughTheOutputPort) {
  Out(i8042_, I8042::kStatusOffset, 0xd1);
  Out(i8042_, 0, 0x00);
  EXPECT_EQ(resets_, 1);
  Out(i8042_, I8042::kStatusOffset, 0xd1);
  Out(i8042_, 0, 0x01);
  EXPECT_EQ(resets_, 1) << "bit 0 set: no reset";
}

TEST_F(VmmI8042, StatusReportsNoKeylock) {
  uint8_t status = In(i8042_, I8042::kStatusOffset);
  EXPECT_TRUE(status & I8042::kStatusUnlocked) << "Linux warns \"Keylock active\" otherwise";
  EXPECT_TRUE(status & I8042::kStatusSystemFlag);
  EXPECT_FALSE(status & I8042::kStatusOutputFull);
}

TEST_F(VmmI8042, ControllerCommandsAnswer) {
  Out(i8042_, I8042::kStatusOffset, 0xaa);
  EXPECT_TRUE(In(i8042_, I8042::kStatusOffset) & I8042::kStatusOutputFull);
  EXPECT_EQ(In(i8042_, 0), 0x55);
  EXPECT_FALSE(In(i8042_, I8042::kStatusOffset) & I8042::kStatusOutputFull);
  Out(i8042_, I8042::kStatusOffset, 0x60);
  Out(i8042_, 0, 0x44);
  Out(i8042_, I8042::kStatusOffset, 0x20);
  EXPECT_EQ(In(i8042_, 0), 0x44);
  EXPECT_EQ(resets_, 0);
}

TEST_F(VmmI8042, CtrlAltDelRaisesKeyboardInterrupts) {
  i8042_.SendCtrlAltDel();
  EXPECT_EQ(irq_.rising_edges, 1);
  std::vector<uint8_t> codes;
  while (In(i8042_, I8042::kStatusOffset) & I8042::kStatusOutputFull) codes.push_back(In(i8042_, 0));
  EXPECT_EQ(codes, (std::vector<uint8_t>{0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d}));
  EXPECT_EQ(irq_.rising_edges, 8) << "one edge per scancode";
}

TEST(VmmDebugPorts, DebugExitAndPvPanic) {
  int exit_value = -1;
  DebugExit debug_exit([&](uint8_t v) { exit_value = v; });
  Out(debug_exit, 0, 42);
  EXPECT_EQ(exit_value, 42);
  int panics = 0;
  PvPanic pvpanic([&](uint8_t event) { panics += event & PvPanic::kPanicked; });
  EXPECT_EQ(In(pvpanic, 0), PvPanic::kPanicked | PvPanic::kCrashLoaded);
  Out(pvpanic, 0, PvPanic::kPanicked);
  EXPECT_EQ(panics, 1);
}

TEST(VmmPanicDetector, FindsTheBannerAcrossWrites) {
  PanicDetector detector;
  auto feed = [&](std::string_view text) {
    return detector.Feed(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  };
  EXPECT_FALSE(feed("[    0.1] Kernel command line: panic=-1\n"));
  EXPECT_FALSE(feed("[    2.0] Kernel pa"));
  EXPECT_FALSE(feed("nic - not syncing: Attempted to kill init!"));
  auto found = feed(" exitcode=0x00000100\r\n");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100");
  EXPECT_FALSE(feed("---[ end Kernel panic - not syncing"));
  std::string flood(100000, 'x');
  EXPECT_FALSE(feed(flood)) << "long lines are truncated, not buffered without bound";
}

TEST(VmmGuestWarning, AFloodIsCutToABurst) {
  // Only checks that a flood returns quickly and does not crash; the output goes to stderr.
  testing::internal::CaptureStderr();
  for (int i = 0; i < 10000; ++i) GuestWarning("bad chain " + std::to_string(i));
  std::string err = testing::internal::GetCapturedStderr();
  size_t lines = std::count(err.begin(), err.end(), '\n');
  EXPECT_LE(lines, static_cast<size_t>(kGuestWarningBurst + 2));
  EXPECT_GE(lines, 1u);
}

}  // namespace
}  // namespace hull::vmm::devices
