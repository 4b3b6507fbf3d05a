// ACPI tables: structure, checksums and lengths, the MADT's CPUs, the FADT's hardware-reduced
// registers, and the DSDT as iasl (Debian acpica-tools) disassembles it.
#include "vmm/arch/x86_64/acpi.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstring>
#include <string>

#include "linux/file.h"
#include "vmm/arch/x86_64/aml.h"

namespace hull::vmm::x86_64::acpi {
namespace {

template <typename T>
T Get(const std::vector<uint8_t>& image, uint64_t offset) {
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(T));
  return value;
}

uint8_t Sum(const std::vector<uint8_t>& image, uint64_t offset, uint64_t length) {
  uint8_t sum = 0;
  for (uint64_t i = 0; i < length; ++i) sum = static_cast<uint8_t>(sum + image[offset + i]);
  return sum;
}

class VmmAcpi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto image = BuildTables(
        {.vcpu_count = 4, .virtio_devices = {{0xd0000000, 0x1000, 5}, {0xd0001000, 0x1000, 6}}});
    ASSERT_TRUE(image) << image.error().ToString();
    image_ = std::move(*image);
  }
  // Offset in image_ of the table at guest address `address`, checking header and checksum.
  uint64_t Table(uint64_t address, const char* signature) {
    uint64_t offset = address - kRsdpAddress;
    EXPECT_LT(offset + 36, image_.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(image_.data() + offset), 4), signature);
    uint32_t length = Get<uint32_t>(image_, offset + 4);
    EXPECT_LE(offset + length, image_.size()) << signature;
    EXPECT_EQ(Sum(image_, offset, length), 0) << signature << " checksum";
    return offset;
  }
  uint64_t Fadt() {
    return Table(Get<uint64_t>(image_, Table(Get<uint64_t>(image_, 24), "XSDT") + 36), "FACP");
  }
  uint64_t Madt() {
    return Table(Get<uint64_t>(image_, Table(Get<uint64_t>(image_, 24), "XSDT") + 44), "APIC");
  }
  uint64_t Dsdt() { return Table(Get<uint64_t>(image_, Fadt() + 140), "DSDT"); }

  std::vector<uint8_t> image_;
};

TEST_F(VmmAcpi, RsdpPointsAtTheXsdt) {
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(image_.data()), 8), "RSD PTR ");
  EXPECT_EQ(image_[15], 2) << "revision";
  EXPECT_EQ(Sum(image_, 0, 20), 0) << "ACPI 1.0 checksum";
  EXPECT_EQ(Sum(image_, 0, 36), 0) << "extended checksum";
  EXPECT_EQ(Get<uint32_t>(image_, 20), 36u);
  uint64_t xsdt = Table(Get<uint64_t>(image_, 24), "XSDT");
  EXPECT_EQ(Get<uint32_t>(image_, xsdt + 4), 36u + 16u) << "two entries: FADT, MADT";
  EXPECT_LE(kRsdpAddress + image_.size(), kTablesLimit);
}

TEST_F(VmmAcpi, FadtIsHardwareReducedWithSleepAndResetRegisters) {
  uint64_t fadt = Fadt();
  EXPECT_EQ(Get<uint32_t>(image_, fadt + 4), 276u);
  EXPECT_EQ(image_[fadt + 8], 6) << "revision";
  uint32_t flags = Get<uint32_t>(image_, fadt + 112);
  EXPECT_TRUE(flags & (1u << 20)) << "HW_REDUCED_ACPI";
  EXPECT_TRUE(flags & (1u << 10)) << "RESET_REG_SUP";
  EXPECT_TRUE(Get<uint16_t>(image_, fadt + 109) & 2) << "8042 present";
  EXPECT_EQ(image_[fadt + 116], 1) << "reset register in I/O space";
  EXPECT_EQ(Get<uint64_t>(image_, fadt + 120), 0x64u);
  EXPECT_EQ(image_[fadt + 128], 0xfe);
  EXPECT_EQ(Get<uint64_t>(image_, fadt + 248), kSleepControlPort);
  EXPECT_EQ(Get<uint64_t>(image_, fadt + 260), kSleepStatusPort);
  EXPECT_EQ(Get<uint32_t>(image_, fadt + 40), Get<uint64_t>(image_, fadt + 140)) << "DSDT, X_DSDT";
}

TEST_F(VmmAcpi, MadtListsEveryVcpuAndTheIoApic) {
  uint64_t madt = Madt();
  uint32_t length = Get<uint32_t>(image_, madt + 4);
  EXPECT_EQ(Get<uint32_t>(image_, madt + 36), kLocalApicAddress);
  int cpus = 0, ioapics = 0, nmis = 0;
  for (uint64_t at = madt + 44; at < madt + length;) {
    uint8_t type = image_[at], entry_length = image_[at + 1];
    ASSERT_GE(entry_length, 2);
    if (type == 0) {
      EXPECT_EQ(image_[at + 3], cpus) << "APIC id = vCPU index";
      EXPECT_EQ(Get<uint32_t>(image_, at + 4), 1u) << "enabled";
      ++cpus;
    } else if (type == 1) {
      EXPECT_EQ(Get<uint32_t>(image_, at + 4), kIoApicAddress);
      EXPECT_EQ(Get<uint32_t>(image_, at + 8), 0u);
      ++ioapics;
    } else if (type == 4) {
      EXPECT_EQ(image_[at + 5], 1) << "LINT1";
      ++nmis;
    }
    at += entry_length;
  }
  EXPECT_EQ(cpus, 4);
  EXPECT_EQ(ioapics, 1);
  EXPECT_EQ(nmis, 1);
}

TEST_F(VmmAcpi, DsdtDisassemblesWithIasl) {
  uint64_t dsdt = Dsdt();
  uint32_t length = Get<uint32_t>(image_, dsdt + 4);
  if (::system("command -v iasl >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "iasl (acpica-tools) is not installed";
  char pattern[] = "/tmp/hull-vmm-acpi-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  std::string dir = pattern;
  ASSERT_TRUE(linux::WriteFile(dir + "/dsdt.aml",
                               std::string(image_.begin() + dsdt, image_.begin() + dsdt + length)));
  int status = ::system(("cd " + dir + " && iasl -d dsdt.aml >iasl.log 2>&1").c_str());
  std::string log = linux::ReadFile(dir + "/iasl.log").value_or("");
  std::string source = linux::ReadFile(dir + "/dsdt.dsl").value_or("");
  (void)linux::RemoveAll(dir);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  for (const char* expected :
       {"Name (\\_S5, Package (0x02)", "\"LNRO0005\"", "EisaId (\"PNP0501\")",
        "EisaId (\"PNP0303\")", "EisaId (\"PNP0B00\")", "Device (V000)", "\"QEMU0001\"",
        "0x0505,             // Range Minimum", "Device (V001)", "Memory32Fixed (ReadWrite,",
        "0xD0001000", "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )",
        "IO (Decode16,"}) {
    EXPECT_NE(source.find(expected), std::string::npos) << expected << "\n" << source;
  }
}

TEST(VmmAml, PackageLengthEncodings) {
  EXPECT_EQ(aml::PackageLength(0x3e), (aml::Bytes{0x3f}));
  EXPECT_EQ(aml::PackageLength(0x3f), (aml::Bytes{0x41, 0x04}));  // 0x41 total: 2-byte form
  EXPECT_EQ(aml::PackageLength(0xffd), (aml::Bytes{0x4f, 0xff}));
  EXPECT_EQ(aml::PackageLength(0xffe), (aml::Bytes{0x81, 0x00, 0x01}));
}

TEST(VmmAml, NamesIntegersAndEisaIds) {
  EXPECT_EQ(aml::NameString("_HID"), (aml::Bytes{'_', 'H', 'I', 'D'}));
  EXPECT_EQ(aml::NameString("\\_SB"), (aml::Bytes{'\\', '_', 'S', 'B', '_'}));
  EXPECT_EQ(aml::NameString("\\_SB.COM1"),
            (aml::Bytes{'\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'}));
  EXPECT_EQ(aml::Integer(0), (aml::Bytes{0x00}));
  EXPECT_EQ(aml::Integer(1), (aml::Bytes{0x01}));
  EXPECT_EQ(aml::Integer(5), (aml::Bytes{0x0a, 5}));
  EXPECT_EQ(aml::Integer(0x1234), (aml::Bytes{0x0b, 0x34, 0x12}));
  EXPECT_EQ(aml::EisaId("PNP0501"), (aml::Bytes{0x0c, 0x41, 0xd0, 0x05, 0x01}));
}

TEST(VmmAcpiTables, RejectsBadCounts) {
  EXPECT_FALSE(BuildTables({.vcpu_count = 0}));
  EXPECT_FALSE(BuildTables({.vcpu_count = 255}));
  EXPECT_TRUE(BuildTables({.vcpu_count = 254}));
}

}  // namespace
}  // namespace hull::vmm::x86_64::acpi
