// The device rule compiler. The program it emits:
//
//     r2 = ctx->access_type          r3 = r2 & 0xffff  (device type)    r2 >>= 16  (pending access)
//     r4 = ctx->major                r5 = ctx->minor
//     -- one block per rule, the last rule first --
//     if r3 != TYPE goto next        (when the rule names a type)
//     if r4 != MAJOR goto next       (when it names a major; large numbers go through r1)
//     if r5 != MINOR goto next       (when it names a minor)
//     allow:  r2 &= ~ACCESS; if r2 == 0 goto allow     (every access asked for is decided)
//     deny:   if r2 & ACCESS goto deny                 (an access asked for is refused)
//             goto deny                                (a deny of all of "rwm")
//   next:
//     ...
//   deny:  r0 = 0; exit
//   allow: r0 = 1; exit
//
// r2 holds the accesses of the request that no later rule has decided yet. Walking the rules
// from the last one, an allow rule decides the accesses it names, and a deny rule that names a
// still-undecided access refuses the request. What is left undecided after the first rule is
// refused. A deny of everything without conditions ends the walk: earlier rules cannot matter
// (and the verifier refuses unreachable instructions).
#include "container/device_filter.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "base/error.h"

namespace hull::container {

namespace {

using oci::DeviceCgroupRule;

constexpr uint8_t kAccessRegister = BPF_REG_2;
constexpr uint8_t kTypeRegister = BPF_REG_3;
constexpr uint8_t kMajorRegister = BPF_REG_4;
constexpr uint8_t kMinorRegister = BPF_REG_5;
constexpr uint8_t kScratchRegister = BPF_REG_1;  // free once the context is read

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

bpf_insn Instruction(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn{};
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

// One rule, checked and decoded.
struct DecodedRule {
  bool allow = false;
  std::optional<int32_t> type;  // BPF_DEVCG_DEV_*; nullopt = any
  std::optional<uint32_t> major, minor;
  int32_t access = 0;  // BPF_DEVCG_ACC_* bits
};

Result<std::optional<uint32_t>> DecodeNumber(const std::optional<int64_t>& value,
                                             const std::string& field) {
  if (!value || *value == -1) return std::optional<uint32_t>();
  if (*value < 0 || *value > std::numeric_limits<uint32_t>::max())
    return Fail(field + ": " + std::to_string(*value) +
                " is not a device number (expected -1 for any, or 0..4294967295)");
  return std::optional<uint32_t>(static_cast<uint32_t>(*value));
}

Result<DecodedRule> Decode(const DeviceCgroupRule& rule, size_t index) {
  const std::string field = "linux.resources.devices[" + std::to_string(index) + "]";
  DecodedRule decoded;
  decoded.allow = rule.allow;
  if (rule.type == "c") {
    decoded.type = BPF_DEVCG_DEV_CHAR;
  } else if (rule.type == "b") {
    decoded.type = BPF_DEVCG_DEV_BLOCK;
  } else if (!rule.type.empty() && rule.type != "a") {
    return Fail(field + ".type: unknown device type " + Quote(rule.type) + " (expected a, b or c)");
  }
  decoded.major = TRY(DecodeNumber(rule.major, field + ".major"));
  decoded.minor = TRY(DecodeNumber(rule.minor, field + ".minor"));
  for (char letter : rule.access) {
    switch (letter) {
      case 'r':
        decoded.access |= BPF_DEVCG_ACC_READ;
        break;
      case 'w':
        decoded.access |= BPF_DEVCG_ACC_WRITE;
        break;
      case 'm':
        decoded.access |= BPF_DEVCG_ACC_MKNOD;
        break;
      default:
        return Fail(field + ".access: unknown access " + Quote(rule.access) +
                    " (expected letters from \"rwm\")");
    }
  }
  if (rule.access.empty()) decoded.access = kAllAccess;
  return decoded;
}

// Builds the instruction stream with forward jumps to labels that are patched once known.
class Emitter {
 public:
  enum class Label { kNextRule, kDeny, kAllow };

  void Emit(bpf_insn insn) { code_.push_back(insn); }
  // A jump whose target is `label`; its offset is filled in later.
  void EmitJump(uint8_t code, uint8_t dst, uint8_t src, int32_t imm, Label label) {
    fixups_.push_back({code_.size(), label});
    Emit(Instruction(code, dst, src, 0, imm));
  }
  // "if reg != value goto next rule", through the scratch register when the value does not fit
  // a sign-extended 32-bit immediate.
  void EmitSkipUnlessEqual(uint8_t reg, uint32_t value) {
    if (value <= static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
      EmitJump(BPF_JMP | BPF_JNE | BPF_K, reg, 0, static_cast<int32_t>(value), Label::kNextRule);
    } else {
      // A 32-bit mov zero-extends, so the scratch register holds `value` exactly.
      Emit(Instruction(BPF_ALU | BPF_MOV | BPF_K, kScratchRegister, 0, 0,
                       static_cast<int32_t>(value)));
      EmitJump(BPF_JMP | BPF_JNE | BPF_X, reg, kScratchRegister, 0, Label::kNextRule);
    }
  }
  bool Uses(Label label) const {
    for (const Fixup& fixup : fixups_)
      if (fixup.label == label) return true;
    return false;
  }
  // Points every pending jump to `label` at the next instruction to be emitted.
  Result<void> Bind(Label label) {
    const size_t target = code_.size();
    for (auto it = fixups_.begin(); it != fixups_.end();) {
      if (it->label != label) {
        ++it;
        continue;
      }
      const ptrdiff_t offset = static_cast<ptrdiff_t>(target) - static_cast<ptrdiff_t>(it->at) - 1;
      if (offset > std::numeric_limits<int16_t>::max())
        return Fail("linux.resources.devices: too many rules for one device program");
      code_[it->at].off = static_cast<int16_t>(offset);
      it = fixups_.erase(it);
    }
    return {};
  }
  std::vector<bpf_insn> Take() { return std::move(code_); }

 private:
  struct Fixup {
    size_t at;
    Label label;
  };
  std::vector<bpf_insn> code_;
  std::vector<Fixup> fixups_;
};

}  // namespace

const std::vector<DeviceCgroupRule>& DefaultDeviceRules() {
  static const std::vector<DeviceCgroupRule> rules = [] {
    auto rule = [](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                   const char* access) {
      return DeviceCgroupRule{
          .allow = true, .type = type, .major = major, .minor = minor, .access = access};
    };
    return std::vector<DeviceCgroupRule>{
        rule("c", {}, {}, "m"),    rule("b", {}, {}, "m"), rule("c", 1, 3, "rwm"),  // null
        rule("c", 1, 5, "rwm"),                                                     // zero
        rule("c", 1, 7, "rwm"),                                                     // full
        rule("c", 1, 8, "rwm"),                                                     // random
        rule("c", 1, 9, "rwm"),                                                     // urandom
        rule("c", 5, 0, "rwm"),                                                     // tty
        rule("c", 5, 1, "rwm"),                                                     // console
        rule("c", 5, 2, "rwm"),                                                     // ptmx
        rule("c", 136, {}, "rwm"),  // pty slaves (/dev/pts/N)
    };
  }();
  return rules;
}

std::vector<DeviceCgroupRule> WithDefaultDeviceRules(const std::vector<DeviceCgroupRule>& rules) {
  std::vector<DeviceCgroupRule> all = rules;
  const std::vector<DeviceCgroupRule>& defaults = DefaultDeviceRules();
  all.insert(all.end(), defaults.begin(), defaults.end());
  return all;
}

Result<std::vector<bpf_insn>> CompileDeviceFilter(const std::vector<DeviceCgroupRule>& rules) {
  std::vector<DecodedRule> decoded;
  decoded.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) decoded.push_back(TRY(Decode(rules[i], i)));

  using Label = Emitter::Label;
  Emitter out;
  // The context: three u32 fields (loads zero-extend into the 64-bit registers).
  out.Emit(Instruction(BPF_LDX | BPF_MEM | BPF_W, kAccessRegister, BPF_REG_1,
                       offsetof(bpf_cgroup_dev_ctx, access_type), 0));
  out.Emit(Instruction(BPF_LDX | BPF_MEM | BPF_W, kMajorRegister, BPF_REG_1,
                       offsetof(bpf_cgroup_dev_ctx, major), 0));
  out.Emit(Instruction(BPF_LDX | BPF_MEM | BPF_W, kMinorRegister, BPF_REG_1,
                       offsetof(bpf_cgroup_dev_ctx, minor), 0));
  out.Emit(Instruction(BPF_ALU64 | BPF_MOV | BPF_X, kTypeRegister, kAccessRegister, 0, 0));
  out.Emit(Instruction(BPF_ALU64 | BPF_AND | BPF_K, kTypeRegister, 0, 0, 0xffff));
  out.Emit(Instruction(BPF_ALU64 | BPF_RSH | BPF_K, kAccessRegister, 0, 0, 16));

  for (auto it = decoded.rbegin(); it != decoded.rend(); ++it) {
    const DecodedRule& rule = *it;
    const bool conditional = rule.type || rule.major || rule.minor;
    if (rule.type) out.EmitSkipUnlessEqual(kTypeRegister, static_cast<uint32_t>(*rule.type));
    if (rule.major) out.EmitSkipUnlessEqual(kMajorRegister, *rule.major);
    if (rule.minor) out.EmitSkipUnlessEqual(kMinorRegister, *rule.minor);
    if (rule.allow) {
      out.Emit(Instruction(BPF_ALU64 | BPF_AND | BPF_K, kAccessRegister, 0, 0, ~rule.access));
      out.EmitJump(BPF_JMP | BPF_JEQ | BPF_K, kAccessRegister, 0, 0, Label::kAllow);
    } else if (rule.access != kAllAccess) {
      out.EmitJump(BPF_JMP | BPF_JSET | BPF_K, kAccessRegister, 0, rule.access, Label::kDeny);
    } else if (conditional) {
      out.EmitJump(BPF_JMP | BPF_JA, 0, 0, 0, Label::kDeny);
    } else {
      // Denies every device and access: nothing before it can change the answer, so the
      // walk ends here and falls into the default (deny), where the previous block's "next
      // rule" jumps already point.
      break;
    }
    TRY(out.Bind(Label::kNextRule));
  }

  TRY(out.Bind(Label::kNextRule));
  TRY(out.Bind(Label::kDeny));
  out.Emit(Instruction(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
  out.Emit(Instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  if (out.Uses(Label::kAllow)) {
    TRY(out.Bind(Label::kAllow));
    out.Emit(Instruction(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1));
    out.Emit(Instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  }
  return out.Take();
}

}  // namespace hull::container
