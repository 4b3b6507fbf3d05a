// The user-space IOAPIC against a recording MSI controller: registers as Linux programs them,
// the MSI message of each redirection entry, edge and level delivery, Remote IRR and EOI.
#include "vmm/devices/ioapic.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace hull::vmm::devices {
namespace {

class RecordingController : public MsiController {
 public:
  void SignalMsi(const MsiMessage& message) override { signalled.push_back(message); }
  void SetRoute(uint32_t pin, std::optional<MsiMessage> message) override {
    ++route_updates;
    routes[pin] = message;
  }
  std::vector<MsiMessage> signalled;
  std::map<uint32_t, std::optional<MsiMessage>> routes;
  int route_updates = 0;
};

class VmmIoApic : public ::testing::Test {
 protected:
  uint32_t ReadRegister(uint32_t index) {
    Write32(0x00, index);
    uint32_t value = 0;
    ioapic_.Read(0x10, std::span(reinterpret_cast<uint8_t*>(&value), 4));
    return value;
  }
  void WriteRegister(uint32_t index, uint32_t value) {
    Write32(0x00, index);
    Write32(0x10, value);
  }
  void Write32(uint64_t offset, uint32_t value) {
    ioapic_.Write(offset, std::span(reinterpret_cast<const uint8_t*>(&value), 4));
  }
  // Programs pin `pin` as Linux does: high half (destination) first, then the low half.
  void Program(uint32_t pin, uint32_t low, uint8_t destination = 0) {
    WriteRegister(0x11 + 2 * pin, uint32_t{destination} << 24);
    WriteRegister(0x10 + 2 * pin, low);
  }

  RecordingController controller_;
  IoApic ioapic_{0, controller_};
};

TEST_F(VmmIoApic, IdentifiesItselfAsA24PinIoApic) {
  EXPECT_EQ(ReadRegister(0x01), 0x00170011u) << "version 0x11, 24 redirection entries";
  EXPECT_EQ(ReadRegister(0x00), 0u);
  WriteRegister(0x00, 0x05000000);
  EXPECT_EQ(ReadRegister(0x00), 0x05000000u);
  EXPECT_EQ(ReadRegister(0x02), 0x05000000u) << "arbitration id follows the id";
  EXPECT_EQ(ReadRegister(0x10 + 2 * 24), 0u) << "no entry 24";
  WriteRegister(0x10 + 2 * 24, 0xffffffff);  // ignored, must not touch anything
  EXPECT_EQ(ReadRegister(0x3f), 0u);
}

TEST_F(VmmIoApic, StartsMaskedWithoutRoutes) {
  for (uint32_t pin = 0; pin < IoApic::kPins; ++pin) {
    EXPECT_EQ(ioapic_.Entry(pin), IoApic::kMasked);
    ASSERT_TRUE(controller_.routes.count(pin));
    EXPECT_FALSE(controller_.routes[pin]);
  }
  ioapic_.SetPinLevel(4, true);
  EXPECT_TRUE(controller_.signalled.empty()) << "masked";
}

TEST_F(VmmIoApic, RedirectionEntriesBecomeMsiRoutes) {
  Program(5, 0x31, 3);  // vector 0x31, fixed, physical, edge, unmasked, to APIC 3
  ASSERT_TRUE(controller_.routes[5]);
  EXPECT_EQ(controller_.routes[5]->address, 0xfee03000u);
  EXPECT_EQ(controller_.routes[5]->data, 0x31u);
  EXPECT_EQ(ReadRegister(0x10 + 2 * 5), 0x31u);
  EXPECT_EQ(ReadRegister(0x11 + 2 * 5), 0x03000000u);

  // Lowest priority (1), logical destination 0x0f, level-triggered.
  Program(6, 0x41 | (1 << 8) | (1 << 11) | (1 << 15), 0x0f);
  ASSERT_TRUE(controller_.routes[6]);
  EXPECT_EQ(controller_.routes[6]->address, 0xfee0f004u);
  EXPECT_EQ(controller_.routes[6]->data, 0x41u | (1 << 8) | (1 << 15) | (1 << 14));

  WriteRegister(0x10 + 2 * 5, 0x31 | (1 << 16));  // mask
  EXPECT_FALSE(controller_.routes[5]);
}

TEST_F(VmmIoApic, ReadOnlyBitsIgnoreWrites) {
  Program(2, 0x30 | IoApic::kDeliveryStatus | IoApic::kRemoteIrr);
  EXPECT_EQ(ioapic_.Entry(2), 0x30u);
}

TEST_F(VmmIoApic, EdgePinsDeliverOnRisingEdgesWhileUnmasked) {
  Program(4, 0x24);
  ioapic_.SetPinLevel(4, true);
  ioapic_.SetPinLevel(4, true);  // still high: no new edge
  ASSERT_EQ(controller_.signalled.size(), 1u);
  EXPECT_EQ(controller_.signalled[0].data, 0x24u);
  ioapic_.SetPinLevel(4, false);
  ioapic_.PulsePin(4);
  ioapic_.PulsePin(4);
  EXPECT_EQ(controller_.signalled.size(), 3u) << "each pulse is an edge";

  WriteRegister(0x10 + 2 * 4, 0x24 | (1 << 16));
  ioapic_.PulsePin(4);
  EXPECT_EQ(controller_.signalled.size(), 3u) << "an edge while masked is lost";
  WriteRegister(0x10 + 2 * 4, 0x24);
  EXPECT_EQ(controller_.signalled.size(), 3u) << "and not replayed on unmask";
}

TEST_F(VmmIoApic, LevelPinsWaitForTheEoiAndRedeliverWhileAsserted) {
  uint32_t level = 0x52 | (1 << 15);
  Program(9, level);
  ioapic_.SetPinLevel(9, true);
  ASSERT_EQ(controller_.signalled.size(), 1u);
  EXPECT_TRUE(ioapic_.Entry(9) & IoApic::kRemoteIrr);
  ioapic_.SetPinLevel(9, true);
  EXPECT_EQ(controller_.signalled.size(), 1u) << "Remote IRR: no delivery before the EOI";
  ioapic_.EndOfInterrupt(0x53);
  EXPECT_EQ(controller_.signalled.size(), 1u) << "another vector's EOI";
  ioapic_.EndOfInterrupt(0x52);
  EXPECT_EQ(controller_.signalled.size(), 2u) << "still asserted after the EOI: again";
  ioapic_.SetPinLevel(9, false);
  ioapic_.EndOfInterrupt(0x52);
  EXPECT_EQ(controller_.signalled.size(), 2u);
  EXPECT_FALSE(ioapic_.Entry(9) & IoApic::kRemoteIrr);
}

TEST_F(VmmIoApic, UnmaskingAnAssertedLevelPinDelivers) {
  ioapic_.SetPinLevel(10, true);
  EXPECT_TRUE(controller_.signalled.empty());
  Program(10, 0x60 | (1 << 15));
  ASSERT_EQ(controller_.signalled.size(), 1u);
  EXPECT_EQ(controller_.signalled[0].data & 0xff, 0x60u);
}

TEST_F(VmmIoApic, GuestControlledAccessesNeverMisbehave) {
  uint8_t byte = 0xaa;
  ioapic_.Write(0x10, std::span<const uint8_t>(&byte, 1));  // selector 0: id, one byte wide
  ioapic_.Write(0x20, std::span<const uint8_t>(&byte, 1));  // no register there
  std::vector<uint8_t> wide(8, 0xff);
  ioapic_.Read(0x30, wide);
  EXPECT_EQ(wide, std::vector<uint8_t>(8, 0));
  ioapic_.SetPinLevel(IoApic::kPins, true);
  ioapic_.PulsePin(1000);
  ioapic_.EndOfInterrupt(0);
  EXPECT_TRUE(controller_.signalled.empty());
}

}  // namespace
}  // namespace hull::vmm::devices
