#include "vmm/arch/x86_64/acpi.h"

#include <cstring>
#include <string>

#include "vmm/arch/x86_64/aml.h"
#include "vmm/arch/x86_64/layout.h"

namespace hull::vmm::x86_64::acpi {
namespace {

using aml::Bytes;

constexpr char kOemId[] = "HULL  ";         // 6 bytes
constexpr char kOemTableId[] = "HULLVMM ";  // 8 bytes
constexpr char kCreatorId[] = "HULL";

template <typename T>
void Put(Bytes& out, size_t offset, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}
template <typename T>
void Append(Bytes& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// The 36-byte header every system description table starts with; length and checksum are
// filled by Finish().
Bytes Header(const char signature[4], uint8_t revision) {
  Bytes table(36, 0);
  std::memcpy(table.data(), signature, 4);
  table[8] = revision;
  std::memcpy(table.data() + 10, kOemId, 6);
  std::memcpy(table.data() + 16, kOemTableId, 8);
  Put<uint32_t>(table, 24, 1);  // OEM revision
  std::memcpy(table.data() + 28, kCreatorId, 4);
  Put<uint32_t>(table, 32, 1);  // creator revision
  return table;
}

void Finish(Bytes& table) {
  Put<uint32_t>(table, 4, static_cast<uint32_t>(table.size()));
  table[9] = 0;
  table[9] = Checksum(table.data(), table.size());
}

// Generic Address Structure for a byte-wide I/O port.
void PutPortAddress(Bytes& table, size_t offset, uint16_t port) {
  table[offset] = 1;      // system I/O space
  table[offset + 1] = 8;  // register bit width
  table[offset + 2] = 0;  // bit offset
  table[offset + 3] = 1;  // byte access
  Put<uint64_t>(table, offset + 4, port);
}

// The device list reads as the ASL it encodes, so clang-format leaves it alone.
// clang-format off
Bytes BuildDsdt(const AcpiConfig& config) {
  std::vector<Bytes> devices;
  devices.push_back(aml::Device("COM1", {
      aml::Name("_HID", aml::EisaId("PNP0501")),
      aml::Name("_UID", aml::Integer(1)),
      aml::Name("_CRS", aml::ResourceTemplate({aml::IoPort(0x3f8, 8), aml::Irq(4)})),
  }));
  devices.push_back(aml::Device("PS2K", {
      aml::Name("_HID", aml::EisaId("PNP0303")),
      aml::Name("_CRS", aml::ResourceTemplate({aml::IoPort(0x60, 1), aml::IoPort(0x64, 1),
                                                aml::Irq(1)})),
  }));
  devices.push_back(aml::Device("RTC_", {
      aml::Name("_HID", aml::EisaId("PNP0B00")),
      aml::Name("_CRS", aml::ResourceTemplate({aml::IoPort(0x70, 2)})),
  }));
  // QEMU's pvpanic device: Linux's pvpanic driver binds to this _HID, reads which events the
  // device supports and reports a panic through the port.
  devices.push_back(aml::Device("PEVT", {
      aml::Name("_HID", aml::String("QEMU0001")),
      aml::Name("_CRS", aml::ResourceTemplate({aml::IoPort(kPvPanicPort, 1)})),
  }));
  for (size_t i = 0; i < config.virtio_devices.size(); ++i) {
    const VirtioMmioDevice& d = config.virtio_devices[i];
    const char* hex = "0123456789ABCDEF";
    const char name[5] = {'V', hex[(i >> 8) & 15], hex[(i >> 4) & 15], hex[i & 15], 0};
    devices.push_back(aml::Device(name, {
        aml::Name("_HID", aml::String("LNRO0005")),
        aml::Name("_UID", aml::Integer(i)),
        aml::Name("_CCA", aml::Integer(1)),  // cache coherent DMA
        aml::Name("_CRS", aml::ResourceTemplate({
            aml::Memory32Fixed(static_cast<uint32_t>(d.address), static_cast<uint32_t>(d.size)),
            aml::ExtendedInterrupt(d.irq, /*edge_triggered=*/true),
        })),
    }));
  }
  Bytes dsdt = Header("DSDT", 2);
  Bytes s5 = aml::Name("\\_S5_", aml::Package({aml::Integer(kS5SleepType), aml::Integer(0)}));
  Bytes sb = aml::Scope("\\_SB_", devices);
  dsdt.insert(dsdt.end(), s5.begin(), s5.end());
  dsdt.insert(dsdt.end(), sb.begin(), sb.end());
  Finish(dsdt);
  return dsdt;
}
// clang-format on

Bytes BuildFadt(uint64_t dsdt_address) {
  Bytes fadt = Header("FACP", 6);
  fadt.resize(276, 0);
  Put<uint32_t>(fadt, 40, static_cast<uint32_t>(dsdt_address));
  // IA-PC boot flags: an 8042 is present, VGA is not, MSI is not (no PCI), ASPM off.
  Put<uint16_t>(fadt, 109, (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4));
  // Flags: WBINVD (0), PROC_C1 (2), RESET_REG_SUP (10), HW_REDUCED_ACPI (20).
  Put<uint32_t>(fadt, 112, (1u << 0) | (1u << 2) | (1u << 10) | (1u << 20));
  PutPortAddress(fadt, 116, 0x64);  // reset register: the i8042 command port
  fadt[128] = 0xfe;                 // reset value: pulse the CPU reset line
  fadt[131] = 0;                    // FADT minor version
  Put<uint64_t>(fadt, 140, dsdt_address);
  PutPortAddress(fadt, 244, kSleepControlPort);
  PutPortAddress(fadt, 256, kSleepStatusPort);
  Put<uint64_t>(fadt, 268, 0x4c4c5548ULL);  // hypervisor vendor identity: "HULL"
  Finish(fadt);
  return fadt;
}

Bytes BuildMadt(const AcpiConfig& config) {
  Bytes madt = Header("APIC", 5);
  Append<uint32_t>(madt, kLocalApicAddress);
  Append<uint32_t>(madt, 1);  // PCAT_COMPAT: there are 8259 PICs
  for (uint32_t i = 0; i < config.vcpu_count; ++i) {
    madt.insert(madt.end(), {0, 8, static_cast<uint8_t>(i), static_cast<uint8_t>(i)});
    Append<uint32_t>(madt, 1);  // enabled
  }
  uint8_t ioapic_id = static_cast<uint8_t>(config.vcpu_count);  // after the local APIC ids
  madt.insert(madt.end(), {1, 12, ioapic_id, 0});
  Append<uint32_t>(madt, kIoApicAddress);
  Append<uint32_t>(madt, 0);  // GSI base
  madt.insert(madt.end(), {4, 6, 0xff});  // local APIC NMI on LINT1 of every processor
  Append<uint16_t>(madt, 0);
  madt.push_back(1);
  Finish(madt);
  return madt;
}

}  // namespace

uint8_t Checksum(const uint8_t* bytes, size_t length) {
  uint8_t sum = 0;
  for (size_t i = 0; i < length; ++i) sum = static_cast<uint8_t>(sum + bytes[i]);
  return static_cast<uint8_t>(0 - sum);
}

Result<std::vector<uint8_t>> BuildTables(const AcpiConfig& config) {
  if (config.vcpu_count == 0 || config.vcpu_count > 254) return Fail("ACPI: bad vCPU count");
  if (config.virtio_devices.size() > 4096) return Fail("ACPI: too many virtio devices");
  // Layout: RSDP (36 bytes, padded to 64), XSDT, FADT, MADT, DSDT; each 16-byte aligned.
  auto align = [](Bytes& image) { image.resize((image.size() + 15) & ~size_t{15}, 0); };
  Bytes image(64, 0);
  uint64_t xsdt_at = kRsdpAddress + image.size();
  uint64_t xsdt_size = 36 + 2 * 8;  // FADT and MADT; the FADT points at the DSDT
  uint64_t fadt_at = (xsdt_at + xsdt_size + 15) & ~uint64_t{15};
  uint64_t madt_at = (fadt_at + 276 + 15) & ~uint64_t{15};
  Bytes madt = BuildMadt(config);
  uint64_t dsdt_at = (madt_at + madt.size() + 15) & ~uint64_t{15};
  Bytes dsdt = BuildDsdt(config);
  Bytes fadt = BuildFadt(dsdt_at);

  Bytes xsdt = Header("XSDT", 1);
  Append<uint64_t>(xsdt, fadt_at);
  Append<uint64_t>(xsdt, madt_at);
  Finish(xsdt);

  image.insert(image.end(), xsdt.begin(), xsdt.end());
  align(image);
  image.resize(fadt_at - kRsdpAddress, 0);
  image.insert(image.end(), fadt.begin(), fadt.end());
  image.resize(madt_at - kRsdpAddress, 0);
  image.insert(image.end(), madt.begin(), madt.end());
  image.resize(dsdt_at - kRsdpAddress, 0);
  image.insert(image.end(), dsdt.begin(), dsdt.end());
  if (kRsdpAddress + image.size() > kTablesLimit) return Fail("ACPI tables do not fit below 1 MiB");

  // RSDP, ACPI 2.0+ form.
  std::memcpy(image.data(), "RSD PTR ", 8);
  std::memcpy(image.data() + 9, kOemId, 6);
  image[15] = 2;  // revision
  Put<uint32_t>(image, 20, 36);
  Put<uint64_t>(image, 24, xsdt_at);
  image[8] = Checksum(image.data(), 20);
  image[32] = Checksum(image.data(), 36);
  return image;
}

Result<void> WriteTables(const memory::GuestMemory& memory, const AcpiConfig& config) {
  std::vector<uint8_t> image = TRY(BuildTables(config));
  TRY_CTX(memory.Write(kRsdpAddress, image), "ACPI tables");
  return {};
}

}  // namespace hull::vmm::x86_64::acpi
