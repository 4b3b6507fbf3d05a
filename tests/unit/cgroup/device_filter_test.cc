// The cgroup v2 device program (container/device_filter.h), run in a small interpreter of the
// few eBPF instructions the compiler emits: allow/deny decisions for many (type, major, minor,
// access) requests against the rules, checked against a straightforward model of the rules'
// meaning. Also the exact instruction stream of small rule sets, the checks the kernel's
// verifier makes on control flow, errors for bad rules, and which mechanism a layout gets.
#include "container/device_filter.h"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "container/cgroup.h"
#include "container/cgroup_internal.h"

namespace hull::container {
namespace {

using oci::DeviceCgroupRule;

constexpr int kBlock = BPF_DEVCG_DEV_BLOCK;
constexpr int kChar = BPF_DEVCG_DEV_CHAR;
constexpr int kRead = BPF_DEVCG_ACC_READ;
constexpr int kWrite = BPF_DEVCG_ACC_WRITE;
constexpr int kMknod = BPF_DEVCG_ACC_MKNOD;

struct Request {
  int type;
  uint32_t major, minor;
  int access;
};

std::string Describe(const Request& request) {
  std::string access;
  if (request.access & kRead) access += "r";
  if (request.access & kWrite) access += "w";
  if (request.access & kMknod) access += "m";
  return std::string(request.type == kBlock ? "b " : "c ") + std::to_string(request.major) + ":" +
         std::to_string(request.minor) + " " + access;
}

DeviceCgroupRule Rule(bool allow, std::string type, std::optional<int64_t> major,
                      std::optional<int64_t> minor, std::string access) {
  return {.allow = allow,
          .type = std::move(type),
          .major = major,
          .minor = minor,
          .access = std::move(access)};
}
DeviceCgroupRule Allow(std::string type, std::optional<int64_t> major, std::optional<int64_t> minor,
                       std::string access) {
  return Rule(true, std::move(type), major, minor, std::move(access));
}
DeviceCgroupRule Deny(std::string type, std::optional<int64_t> major, std::optional<int64_t> minor,
                      std::string access) {
  return Rule(false, std::move(type), major, minor, std::move(access));
}

// --- a tiny eBPF interpreter: exactly the instructions the compiler may emit ---

struct Outcome {
  bool ok = false;
  std::string error;  // why the program could not be run
  uint64_t r0 = 0;
};

Outcome Interpret(const std::vector<bpf_insn>& program, const bpf_cgroup_dev_ctx& ctx) {
  uint64_t reg[11] = {};
  bool initialised[11] = {};
  bool r1_is_context = true;  // r1 points to the context until it is written
  initialised[1] = true;
  auto fail = [](std::string why) { return Outcome{false, std::move(why), 0}; };
  size_t pc = 0;
  for (int steps = 0; steps < 100000; ++steps) {
    if (pc >= program.size()) return fail("pc " + std::to_string(pc) + " out of the program");
    const bpf_insn& insn = program[pc];
    const std::string at = " at " + std::to_string(pc);
    const uint8_t dst = insn.dst_reg, src = insn.src_reg;
    if (dst > 10 || src > 10) return fail("bad register" + at);
    const uint64_t imm64 = static_cast<uint64_t>(static_cast<int64_t>(insn.imm));  // sign-ext
    auto read = [&](uint8_t r) -> std::optional<uint64_t> {
      if (!initialised[r]) return std::nullopt;
      return reg[r];
    };
    auto write = [&](uint8_t r, uint64_t value) {
      if (r == 1) r1_is_context = false;
      reg[r] = value;
      initialised[r] = true;
    };
    auto jump_if = [&](bool taken) { pc += 1 + (taken ? insn.off : 0); };
    switch (insn.code) {
      case BPF_LDX | BPF_MEM | BPF_W: {
        if (src != 1 || !r1_is_context) return fail("load not from the context" + at);
        uint32_t value;
        if (insn.off == 0)
          value = ctx.access_type;
        else if (insn.off == 4)
          value = ctx.major;
        else if (insn.off == 8)
          value = ctx.minor;
        else
          return fail("load from context offset " + std::to_string(insn.off) + at);
        write(dst, value);
        ++pc;
        break;
      }
      case BPF_ALU64 | BPF_MOV | BPF_X: {
        auto value = read(src);
        if (!value || (src == 1 && r1_is_context)) return fail("mov of unusable register" + at);
        write(dst, *value);
        ++pc;
        break;
      }
      case BPF_ALU64 | BPF_MOV | BPF_K:
        write(dst, imm64);
        ++pc;
        break;
      case BPF_ALU | BPF_MOV | BPF_K:
        write(dst, static_cast<uint32_t>(insn.imm));  // 32-bit ops zero-extend
        ++pc;
        break;
      case BPF_ALU64 | BPF_AND | BPF_K:
      case BPF_ALU64 | BPF_RSH | BPF_K: {
        auto value = read(dst);
        if (!value) return fail("alu on uninitialised register" + at);
        if ((insn.code & 0xf0) == BPF_AND)
          write(dst, *value & imm64);
        else
          write(dst, *value >> insn.imm);
        ++pc;
        break;
      }
      case BPF_JMP | BPF_JA:
        jump_if(true);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
      case BPF_JMP | BPF_JNE | BPF_K:
      case BPF_JMP | BPF_JSET | BPF_K:
      case BPF_JMP | BPF_JNE | BPF_X: {
        auto left = read(dst);
        auto right = (insn.code & BPF_X) ? read(src) : std::optional<uint64_t>(imm64);
        if (!left || !right) return fail("compare of uninitialised register" + at);
        switch (insn.code & 0xf0) {
          case BPF_JEQ:
            jump_if(*left == *right);
            break;
          case BPF_JNE:
            jump_if(*left != *right);
            break;
          default:
            jump_if((*left & *right) != 0);
            break;
        }
        break;
      }
      case BPF_JMP | BPF_EXIT:
        if (!initialised[0]) return fail("exit without r0" + at);
        return Outcome{true, "", reg[0]};
      default:
        return fail("unexpected opcode " + std::to_string(insn.code) + at);
    }
  }
  return fail("no exit after 100000 steps");
}

// What the kernel's verifier checks about control flow (kernel/bpf/verifier.c check_cfg): every
// jump lands inside the program, no instruction is unreachable, the last one does not fall off
// the end, and there are no backward jumps (loops).
std::string ControlFlowProblem(const std::vector<bpf_insn>& program) {
  if (program.empty()) return "empty program";
  std::vector<bool> reached(program.size(), false);
  reached[0] = true;
  for (size_t pc = 0; pc < program.size(); ++pc) {
    if (!reached[pc]) return "unreachable instruction " + std::to_string(pc);
    const bpf_insn& insn = program[pc];
    const bool is_jump = (insn.code & 0x07) == BPF_JMP;
    if (is_jump && insn.code == (BPF_JMP | BPF_EXIT)) continue;
    const bool unconditional = is_jump && insn.code == (BPF_JMP | BPF_JA);
    if (!unconditional) {
      if (pc + 1 >= program.size()) return "falls off the end at " + std::to_string(pc);
      reached[pc + 1] = true;
    }
    if (is_jump) {
      if (insn.off < 0) return "backward jump at " + std::to_string(pc);
      size_t target = pc + 1 + insn.off;
      if (target >= program.size()) return "jump out of the program at " + std::to_string(pc);
      reached[target] = true;
    }
  }
  return "";
}

// The meaning of the rules, written as plainly as possible: each access asked for must be
// allowed by the last rule that matches the device and names that access.
bool ModelAllows(const std::vector<DeviceCgroupRule>& rules, const Request& request) {
  auto matches = [&](const DeviceCgroupRule& rule) {
    if (rule.type == "c" && request.type != kChar) return false;
    if (rule.type == "b" && request.type != kBlock) return false;
    if (rule.major && *rule.major != -1 && *rule.major != request.major) return false;
    if (rule.minor && *rule.minor != -1 && *rule.minor != request.minor) return false;
    return true;
  };
  auto names = [](const DeviceCgroupRule& rule, char letter) {
    return rule.access.empty() || rule.access.find(letter) != std::string::npos;
  };
  for (auto [bit, letter] : {std::pair{kRead, 'r'}, {kWrite, 'w'}, {kMknod, 'm'}}) {
    if (!(request.access & bit)) continue;
    std::optional<bool> decision;
    for (const DeviceCgroupRule& rule : rules)
      if (matches(rule) && names(rule, letter)) decision = rule.allow;
    if (!decision.value_or(false)) return false;
  }
  return true;
}

// Compiles `rules`, checks the control flow, and answers `request` by running the program.
class Filter {
 public:
  explicit Filter(const std::vector<DeviceCgroupRule>& rules) {
    auto compiled = CompileDeviceFilter(rules);
    if (!compiled) {
      ADD_FAILURE() << compiled.error().ToString();
      return;
    }
    program_ = *compiled;
    std::string problem = ControlFlowProblem(program_);
    EXPECT_EQ(problem, "");
  }

  bool Allows(const Request& request) const {
    bpf_cgroup_dev_ctx ctx{};
    ctx.access_type = (static_cast<uint32_t>(request.access) << 16) | request.type;
    ctx.major = request.major;
    ctx.minor = request.minor;
    Outcome outcome = Interpret(program_, ctx);
    EXPECT_TRUE(outcome.ok) << outcome.error << " for " << Describe(request);
    EXPECT_TRUE(outcome.r0 == 0 || outcome.r0 == 1) << outcome.r0;
    return outcome.ok && outcome.r0 == 1;
  }
  bool Allows(int type, uint32_t major, uint32_t minor, int access) const {
    return Allows(Request{type, major, minor, access});
  }

 private:
  std::vector<bpf_insn> program_;
};

// --- the instruction stream ---

struct Expected {
  uint8_t code, dst, src;
  int16_t off;
  int32_t imm;
};

void ExpectProgram(const std::vector<bpf_insn>& program, const std::vector<Expected>& expected) {
  ASSERT_EQ(program.size(), expected.size());
  for (size_t i = 0; i < program.size(); ++i) {
    SCOPED_TRACE("instruction " + std::to_string(i));
    EXPECT_EQ(program[i].code, expected[i].code);
    EXPECT_EQ(program[i].dst_reg, expected[i].dst);
    EXPECT_EQ(program[i].src_reg, expected[i].src);
    EXPECT_EQ(program[i].off, expected[i].off);
    EXPECT_EQ(program[i].imm, expected[i].imm);
  }
}

// Reads the context: r2 = access, r3 = type, r4 = major, r5 = minor.
const std::vector<Expected> kPrologue = {
    {BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0},        {BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0},
    {BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0},        {BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0},
    {BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, 0xffff}, {BPF_ALU64 | BPF_RSH | BPF_K, 2, 0, 0, 16},
};

std::vector<Expected> Concat(std::vector<Expected> a, const std::vector<Expected>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(DeviceFilterCode, DenyAllIsPrologueAndDeny) {
  auto program = CompileDeviceFilter({Deny("a", {}, {}, "rwm")});
  ASSERT_TRUE(program) << program.error().ToString();
  ExpectProgram(*program, Concat(kPrologue, {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                                             {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}}));
}

TEST(DeviceFilterCode, NoRulesDeniesEverything) {
  auto program = CompileDeviceFilter({});
  ASSERT_TRUE(program) << program.error().ToString();
  ExpectProgram(*program, Concat(kPrologue, {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                                             {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}}));
}

TEST(DeviceFilterCode, OneAllowRule) {
  auto program = CompileDeviceFilter({Allow("c", 1, 3, "rw")});
  ASSERT_TRUE(program) << program.error().ToString();
  ExpectProgram(*program,
                Concat(kPrologue, {
                                      {BPF_JMP | BPF_JNE | BPF_K, 3, 0, 4, kChar},  // -> deny
                                      {BPF_JMP | BPF_JNE | BPF_K, 4, 0, 3, 1},      // -> deny
                                      {BPF_JMP | BPF_JNE | BPF_K, 5, 0, 2, 3},      // -> deny
                                      {BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, ~(kRead | kWrite)},
                                      {BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 2, 0},  // -> allow
                                      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                                      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
                                      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1},
                                      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
                                  }));
}

TEST(DeviceFilterCode, LastRuleComesFirst) {
  // [allow b *:* r, deny c 10:* w]: the deny (last) is tested first; the allow has no number.
  auto program = CompileDeviceFilter({Allow("b", {}, {}, "r"), Deny("c", 10, {}, "w")});
  ASSERT_TRUE(program) << program.error().ToString();
  ExpectProgram(*program,
                Concat(kPrologue, {
                                      {BPF_JMP | BPF_JNE | BPF_K, 3, 0, 2, kChar},    // next rule
                                      {BPF_JMP | BPF_JNE | BPF_K, 4, 0, 1, 10},       // next rule
                                      {BPF_JMP | BPF_JSET | BPF_K, 2, 0, 3, kWrite},  // -> deny
                                      {BPF_JMP | BPF_JNE | BPF_K, 3, 0, 2, kBlock},   // -> deny
                                      {BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, ~kRead},
                                      {BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 2, 0},  // -> allow
                                      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                                      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
                                      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1},
                                      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
                                  }));
}

TEST(DeviceFilterCode, RulesBeforeAnUnconditionalDenyAreLeftOut) {
  // The deny-all comes last, so the allow before it can never matter (and code for it would be
  // unreachable, which the verifier refuses).
  auto program = CompileDeviceFilter({Allow("c", 1, 3, "rwm"), Deny("", {}, {}, "")});
  ASSERT_TRUE(program) << program.error().ToString();
  ExpectProgram(*program, Concat(kPrologue, {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                                             {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}}));
}

TEST(DeviceFilterCode, NumbersAbove31BitsAreComparedThroughARegister) {
  // Jump immediates are sign-extended to 64 bits; the loaded numbers are zero-extended.
  auto program = CompileDeviceFilter({Allow("c", 4294967295, {}, "r")});
  ASSERT_TRUE(program) << program.error().ToString();
  ASSERT_GE(program->size(), kPrologue.size() + 3);
  const bpf_insn& mov = (*program)[kPrologue.size() + 1];
  const bpf_insn& jump = (*program)[kPrologue.size() + 2];
  EXPECT_EQ(mov.code, BPF_ALU | BPF_MOV | BPF_K);
  EXPECT_EQ(static_cast<uint32_t>(mov.imm), 4294967295u);
  EXPECT_EQ(jump.code, BPF_JMP | BPF_JNE | BPF_X);
  EXPECT_EQ(jump.dst_reg, 4);
  EXPECT_EQ(jump.src_reg, mov.dst_reg);
}

// --- decisions ---

TEST(DeviceFilter, DefaultsAfterDenyAll) {
  // What a typical config ({"allow": false, "access": "rwm"}) gets.
  Filter filter(WithDefaultDeviceRules({Deny("", {}, {}, "rwm")}));
  for (auto [major, minor] : {std::pair<uint32_t, uint32_t>{1, 3},
                              {1, 5},
                              {1, 7},
                              {1, 8},
                              {1, 9},
                              {5, 0},
                              {5, 1},
                              {5, 2},
                              {136, 0},
                              {136, 4095}}) {
    SCOPED_TRACE(std::to_string(major) + ":" + std::to_string(minor));
    EXPECT_TRUE(filter.Allows(kChar, major, minor, kRead | kWrite));
    EXPECT_TRUE(filter.Allows(kChar, major, minor, kRead));
    EXPECT_TRUE(filter.Allows(kChar, major, minor, kMknod));
    EXPECT_FALSE(filter.Allows(kBlock, major, minor, kRead));  // the same numbers as a block dev
  }
  EXPECT_FALSE(filter.Allows(kChar, 1, 1, kRead));              // /dev/mem
  EXPECT_FALSE(filter.Allows(kChar, 1, 11, kWrite));            // /dev/kmsg
  EXPECT_FALSE(filter.Allows(kChar, 10, 200, kRead | kWrite));  // /dev/net/tun
  EXPECT_FALSE(filter.Allows(kBlock, 8, 0, kRead));             // /dev/sda
  EXPECT_FALSE(filter.Allows(kChar, 137, 0, kRead));            // next to the pty range
  // mknod of anything: creating a node grants no access to it.
  EXPECT_TRUE(filter.Allows(kBlock, 8, 0, kMknod));
  EXPECT_TRUE(filter.Allows(kChar, 1, 1, kMknod));
  EXPECT_FALSE(filter.Allows(kChar, 1, 1, kMknod | kRead));
}

TEST(DeviceFilter, DenyAfterAllowTakesAwayOnlyWhatItNames) {
  Filter filter({Allow("c", 1, 3, "rwm"), Deny("c", 1, 3, "w")});
  EXPECT_TRUE(filter.Allows(kChar, 1, 3, kRead));
  EXPECT_TRUE(filter.Allows(kChar, 1, 3, kMknod));
  EXPECT_FALSE(filter.Allows(kChar, 1, 3, kWrite));
  EXPECT_FALSE(filter.Allows(kChar, 1, 3, kRead | kWrite));
  EXPECT_FALSE(filter.Allows(kChar, 1, 5, kRead));
}

TEST(DeviceFilter, AllowAfterDenyGivesBack) {
  Filter filter({Deny("c", 1, 3, "rwm"), Allow("c", 1, 3, "r")});
  EXPECT_TRUE(filter.Allows(kChar, 1, 3, kRead));
  EXPECT_FALSE(filter.Allows(kChar, 1, 3, kWrite));
  EXPECT_FALSE(filter.Allows(kChar, 1, 3, kRead | kWrite));
}

TEST(DeviceFilter, ADenyOfOneDeviceCutsIntoAWildcardAllow) {
  Filter filter({Allow("a", {}, {}, "rwm"), Deny("c", 1, 5, "rwm"), Deny("b", {}, 0, "w")});
  EXPECT_TRUE(filter.Allows(kChar, 1, 3, kRead | kWrite | kMknod));
  EXPECT_FALSE(filter.Allows(kChar, 1, 5, kRead));
  EXPECT_FALSE(filter.Allows(kChar, 1, 5, kMknod));
  EXPECT_TRUE(filter.Allows(kBlock, 1, 5, kRead));
  EXPECT_TRUE(filter.Allows(kBlock, 8, 0, kRead));
  EXPECT_FALSE(filter.Allows(kBlock, 8, 0, kWrite));
  EXPECT_TRUE(filter.Allows(kBlock, 8, 1, kWrite));
}

TEST(DeviceFilter, Wildcards) {
  // Absent and -1 both mean "any number"; empty type means both kinds, empty access "rwm".
  Filter filter({Allow("c", 10, -1, "rw"), Allow("b", {}, 0, "r"), Allow("", 7, {}, ""),
                 Allow("a", -1, 42, "m")});
  EXPECT_TRUE(filter.Allows(kChar, 10, 200, kRead | kWrite));
  EXPECT_FALSE(filter.Allows(kChar, 10, 200, kMknod));
  EXPECT_FALSE(filter.Allows(kBlock, 10, 200, kRead));
  EXPECT_TRUE(filter.Allows(kBlock, 8, 0, kRead));
  EXPECT_TRUE(filter.Allows(kBlock, 259, 0, kRead));
  EXPECT_FALSE(filter.Allows(kBlock, 8, 1, kRead));
  EXPECT_TRUE(filter.Allows(kBlock, 7, 3, kRead | kWrite | kMknod));
  EXPECT_TRUE(filter.Allows(kChar, 7, 3, kRead | kWrite | kMknod));
  EXPECT_TRUE(filter.Allows(kChar, 99, 42, kMknod));
  EXPECT_TRUE(filter.Allows(kBlock, 99, 42, kMknod));
  EXPECT_FALSE(filter.Allows(kBlock, 99, 42, kRead));
}

TEST(DeviceFilter, AllowEverything) {
  Filter filter({Allow("a", {}, {}, "rwm")});
  for (int type : {kChar, kBlock})
    for (int access = 1; access <= 7; ++access) EXPECT_TRUE(filter.Allows(type, 123, 456, access));
}

TEST(DeviceFilter, LargeNumbers) {
  Filter filter({Allow("c", 2147483648, 4294967295, "r"), Allow("c", 2147483647, 0, "r")});
  EXPECT_TRUE(filter.Allows(kChar, 2147483648u, 4294967295u, kRead));
  EXPECT_FALSE(filter.Allows(kChar, 2147483648u, 4294967294u, kRead));
  EXPECT_FALSE(filter.Allows(kChar, 0, 4294967295u, kRead));
  EXPECT_TRUE(filter.Allows(kChar, 2147483647u, 0, kRead));
}

// Random rule sets against the model: every request over a grid of numbers that the rules use
// (and some they do not), both types, every combination of accesses.
TEST(DeviceFilter, AgreesWithTheModelOnRandomRules) {
  std::mt19937 random(12345);
  const std::vector<std::optional<int64_t>> numbers = {std::nullopt, -1,        0, 1, 3, 5,
                                                       136,          4294967295};
  const std::vector<std::string> types = {"", "a", "b", "c"};
  const std::vector<std::string> accesses = {"", "r", "w", "m", "rw", "rm", "wm", "rwm", "mwr"};
  const std::vector<uint32_t> request_numbers = {0, 1, 3, 5, 7, 136, 4294967295u};
  auto pick = [&](const auto& values) { return values[random() % values.size()]; };
  for (int round = 0; round < 300; ++round) {
    std::vector<DeviceCgroupRule> rules;
    const int count = static_cast<int>(random() % 8);
    for (int i = 0; i < count; ++i)
      rules.push_back(
          Rule(random() % 2, pick(types), pick(numbers), pick(numbers), pick(accesses)));
    if (round % 3 == 0) rules = WithDefaultDeviceRules(rules);
    SCOPED_TRACE("round " + std::to_string(round));
    Filter filter(rules);
    if (::testing::Test::HasFailure()) return;
    for (int type : {kChar, kBlock})
      for (uint32_t major : request_numbers)
        for (uint32_t minor : request_numbers)
          for (int access = 1; access <= 7; ++access) {
            Request request{type, major, minor, access};
            ASSERT_EQ(filter.Allows(request), ModelAllows(rules, request)) << Describe(request);
          }
  }
}

// --- errors ---

TEST(DeviceFilterErrors, NameTheRule) {
  auto error = [](std::vector<DeviceCgroupRule> rules) {
    auto program = CompileDeviceFilter(rules);
    return program ? std::string("compiled") : program.error().ToString();
  };
  EXPECT_EQ(error({Deny("a", {}, {}, "rwm"), Allow("x", 1, 3, "r")}),
            R"(linux.resources.devices[1].type: unknown device type "x" (expected a, b or c))");
  EXPECT_EQ(error({Allow("c", 1, 3, "rwx")}),
            R"(linux.resources.devices[0].access: unknown access "rwx" (expected letters from )"
            R"("rwm"))");
  EXPECT_EQ(error({Allow("c", -2, 3, "r")}),
            "linux.resources.devices[0].major: -2 is not a device number (expected -1 for any, "
            "or 0..4294967295)");
  EXPECT_EQ(error({Allow("c", 1, 3, "r"), Allow("b", 1, 4294967296, "r")}),
            "linux.resources.devices[1].minor: 4294967296 is not a device number (expected -1 "
            "for any, or 0..4294967295)");
}

// --- which mechanism ---

TEST(DeviceControlChoice, V1DevicesHierarchyWinsOnHybridHosts) {
  CgroupLayout layout;
  layout.mode = CgroupLayout::Mode::kHybrid;
  layout.v1_hierarchies = {{"/sys/fs/cgroup/devices", {"devices"}},
                           {"/sys/fs/cgroup/memory", {"memory"}}};
  layout.unified_mount = "/sys/fs/cgroup/unified";
  DeviceControl control = ChooseDeviceControl(layout, "/hull/c1");
  EXPECT_EQ(control.kind, DeviceControl::Kind::kV1Files);
  EXPECT_EQ(control.dir, "/sys/fs/cgroup/devices/hull/c1");
}

TEST(DeviceControlChoice, ProgramOnPureV2) {
  CgroupLayout layout;
  layout.mode = CgroupLayout::Mode::kV2;
  layout.unified_mount = "/sys/fs/cgroup";
  layout.unified_controllers = {"cpu", "memory", "pids"};
  DeviceControl control = ChooseDeviceControl(layout, "/hull/c1");
  EXPECT_EQ(control.kind, DeviceControl::Kind::kBpfProgram);
  EXPECT_EQ(control.dir, "/sys/fs/cgroup/hull/c1");
}

TEST(DeviceControlChoice, ProgramOnHybridHostWithoutV1Devices) {
  CgroupLayout layout;
  layout.mode = CgroupLayout::Mode::kHybrid;
  layout.v1_hierarchies = {{"/sys/fs/cgroup/memory", {"memory"}}};
  layout.unified_mount = "/sys/fs/cgroup/unified";
  DeviceControl control = ChooseDeviceControl(layout, "/a/b");
  EXPECT_EQ(control.kind, DeviceControl::Kind::kBpfProgram);
  EXPECT_EQ(control.dir, "/sys/fs/cgroup/unified/a/b");
}

TEST(DeviceControlChoice, NothingWithoutEither) {
  CgroupLayout layout;
  layout.mode = CgroupLayout::Mode::kV1;
  layout.v1_hierarchies = {{"/sys/fs/cgroup/memory", {"memory"}}};
  EXPECT_EQ(ChooseDeviceControl(layout, "/a").kind, DeviceControl::Kind::kNone);
}

}  // namespace
}  // namespace hull::container
