// A small ACPI Machine Language (AML) encoder: just the terms hull-vmm's DSDT needs (names,
// integers, strings, packages, buffers, scopes, devices) and the resource descriptors for
// _CRS (I/O ports, IRQs, fixed memory ranges, extended interrupts). Encodings follow the ACPI
// specification (chapter 20, "ACPI Machine Language Specification", and 6.4, "Resource Data
// Types"). Pure functions returning bytes.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace hull::vmm::x86_64::aml {

using Bytes = std::vector<uint8_t>;

// PkgLength for a package whose contents (after the PkgLength) are `content_length` bytes.
Bytes PackageLength(size_t content_length);
// A NameString: "_S5_", "\\_SB_", "\\_SB_.COM1"; segments shorter than 4 are padded with '_'.
Bytes NameString(std::string_view path);
Bytes Integer(uint64_t value);
Bytes String(std::string_view text);
// Name(path, value)
Bytes Name(std::string_view path, const Bytes& value);
Bytes Package(const std::vector<Bytes>& elements);
Bytes Buffer(const Bytes& data);
Bytes Scope(std::string_view path, const std::vector<Bytes>& terms);
Bytes Device(std::string_view path, const std::vector<Bytes>& terms);
// An EISA id such as "PNP0501" as its compressed 32-bit integer form.
Bytes EisaId(std::string_view id);

// Resource descriptors, concatenated and wrapped by ResourceTemplate() (adds the end tag).
Bytes IoPort(uint16_t base, uint8_t length);
Bytes Irq(uint8_t irq);  // ISA IRQ, edge-triggered, active high, exclusive
Bytes Memory32Fixed(uint32_t base, uint32_t length, bool writable = true);
Bytes ExtendedInterrupt(uint32_t irq, bool edge_triggered, bool active_low = false);
Bytes ResourceTemplate(const std::vector<Bytes>& descriptors);

}  // namespace hull::vmm::x86_64::aml
