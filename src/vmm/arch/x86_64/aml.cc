#include "vmm/arch/x86_64/aml.h"

namespace hull::vmm::x86_64::aml {
namespace {

constexpr uint8_t kZeroOp = 0x00, kOneOp = 0x01, kNameOp = 0x08, kBytePrefix = 0x0a,
                  kWordPrefix = 0x0b, kDWordPrefix = 0x0c, kStringPrefix = 0x0d,
                  kQWordPrefix = 0x0e, kScopeOp = 0x10, kBufferOp = 0x11, kPackageOp = 0x12,
                  kOnesOp = 0xff, kExtOpPrefix = 0x5b, kDeviceOp = 0x82, kRootChar = '\\',
                  kDualNamePrefix = 0x2e, kMultiNamePrefix = 0x2f;

void Append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

template <typename T>
void AppendLe(Bytes& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

Bytes Concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const Bytes& p : parts) Append(out, p);
  return out;
}

// op PkgLength contents
Bytes WithPackageLength(Bytes op, const Bytes& contents) {
  Append(op, PackageLength(contents.size()));
  Append(op, contents);
  return op;
}

}  // namespace

Bytes PackageLength(size_t content_length) {
  // The encoded length counts the PkgLength bytes themselves.
  if (content_length + 1 < 0x40) return {static_cast<uint8_t>(content_length + 1)};
  for (size_t extra = 1; extra <= 3; ++extra) {
    size_t total = content_length + 1 + extra;
    if (total < (size_t{1} << (4 + 8 * extra))) {
      Bytes out = {static_cast<uint8_t>((extra << 6) | (total & 0x0f))};
      for (size_t i = 0; i < extra; ++i) out.push_back(static_cast<uint8_t>(total >> (4 + 8 * i)));
      return out;
    }
  }
  return {};  // longer than AML allows (256 MiB); never produced by hull-vmm
}

Bytes NameString(std::string_view path) {
  Bytes out;
  if (!path.empty() && path[0] == '\\') {
    out.push_back(kRootChar);
    path.remove_prefix(1);
  }
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    size_t dot = path.find('.');
    segments.push_back(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  if (segments.size() == 2) out.push_back(kDualNamePrefix);
  if (segments.size() > 2) {
    out.push_back(kMultiNamePrefix);
    out.push_back(static_cast<uint8_t>(segments.size()));
  }
  if (segments.empty()) out.push_back(0x00);  // NullName
  for (std::string_view segment : segments) {
    for (size_t i = 0; i < 4; ++i) out.push_back(i < segment.size() ? segment[i] : '_');
  }
  return out;
}

Bytes Integer(uint64_t value) {
  if (value == 0) return {kZeroOp};
  if (value == 1) return {kOneOp};
  if (value == UINT64_MAX) return {kOnesOp};
  Bytes out;
  if (value <= 0xff) {
    out.push_back(kBytePrefix);
    AppendLe<uint8_t>(out, static_cast<uint8_t>(value));
  } else if (value <= 0xffff) {
    out.push_back(kWordPrefix);
    AppendLe<uint16_t>(out, static_cast<uint16_t>(value));
  } else if (value <= 0xffffffff) {
    out.push_back(kDWordPrefix);
    AppendLe<uint32_t>(out, static_cast<uint32_t>(value));
  } else {
    out.push_back(kQWordPrefix);
    AppendLe<uint64_t>(out, value);
  }
  return out;
}

Bytes String(std::string_view text) {
  Bytes out(text.size() + 2, 0);  // prefix, characters, NUL
  out[0] = kStringPrefix;
  for (size_t i = 0; i < text.size(); ++i) out[i + 1] = static_cast<uint8_t>(text[i]);
  return out;
}

Bytes Name(std::string_view path, const Bytes& value) {
  Bytes out = {kNameOp};
  Append(out, NameString(path));
  Append(out, value);
  return out;
}

Bytes Package(const std::vector<Bytes>& elements) {
  Bytes contents = {static_cast<uint8_t>(elements.size())};
  Append(contents, Concat(elements));
  return WithPackageLength({kPackageOp}, contents);
}

Bytes Buffer(const Bytes& data) {
  Bytes contents = Integer(data.size());
  Append(contents, data);
  return WithPackageLength({kBufferOp}, contents);
}

Bytes Scope(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes contents = NameString(path);
  Append(contents, Concat(terms));
  return WithPackageLength({kScopeOp}, contents);
}

Bytes Device(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes contents = NameString(path);
  Append(contents, Concat(terms));
  return WithPackageLength({kExtOpPrefix, kDeviceOp}, contents);
}

Bytes EisaId(std::string_view id) {
  // Three uppercase letters (5 bits each, 'A' = 1) and four hex digits, stored big-endian.
  auto hex = [](char c) -> uint32_t { return c <= '9' ? c - '0' : (c & ~0x20) - 'A' + 10; };
  uint32_t value = 0;
  if (id.size() == 7) {
    value = ((uint32_t(id[0] - '@') & 0x1f) << 26) | ((uint32_t(id[1] - '@') & 0x1f) << 21) |
            ((uint32_t(id[2] - '@') & 0x1f) << 16) | (hex(id[3]) << 12) | (hex(id[4]) << 8) |
            (hex(id[5]) << 4) | hex(id[6]);
  }
  uint32_t swapped = __builtin_bswap32(value);
  Bytes out = {kDWordPrefix};
  AppendLe<uint32_t>(out, swapped);
  return out;
}

Bytes IoPort(uint16_t base, uint8_t length) {
  Bytes out = {0x47, 0x01};  // small I/O port descriptor, 16-bit decode
  AppendLe<uint16_t>(out, base);
  AppendLe<uint16_t>(out, base);
  out.push_back(1);  // alignment
  out.push_back(length);
  return out;
}

Bytes Irq(uint8_t irq) {
  Bytes out = {0x22};  // small IRQ descriptor without the flags byte: edge, active high
  AppendLe<uint16_t>(out, static_cast<uint16_t>(1u << (irq & 15)));
  return out;
}

Bytes Memory32Fixed(uint32_t base, uint32_t length, bool writable) {
  Bytes out = {0x86};
  AppendLe<uint16_t>(out, 9);
  out.push_back(writable ? 1 : 0);
  AppendLe<uint32_t>(out, base);
  AppendLe<uint32_t>(out, length);
  return out;
}

Bytes ExtendedInterrupt(uint32_t irq, bool edge_triggered, bool active_low) {
  Bytes out = {0x89};
  AppendLe<uint16_t>(out, 6);
  // Bit 0 consumer, bit 1 edge, bit 2 active low, bit 3 shared (not set).
  out.push_back(static_cast<uint8_t>(0x01 | (edge_triggered ? 0x02 : 0) | (active_low ? 0x04 : 0)));
  out.push_back(1);  // one interrupt
  AppendLe<uint32_t>(out, irq);
  return out;
}

Bytes ResourceTemplate(const std::vector<Bytes>& descriptors) {
  Bytes data = Concat(descriptors);
  data.push_back(0x79);  // end tag
  data.push_back(0x00);  // checksum 0: "treat as correct"
  return Buffer(data);
}

}  // namespace hull::vmm::x86_64::aml
