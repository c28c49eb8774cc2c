// BuildDeviceProgram checked by running its instructions: a small interpreter for exactly the
// opcodes the builder may emit (anything else fails the test) against a reference evaluation of
// the rules, over many (type, major, minor, access) requests and rule lists.
#include "cgroups/device_program.h"

#include <gtest/gtest.h>

#include <array>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>

namespace podshim::cgroups {
namespace {

struct Request {
  DeviceType type;  // kBlock or kChar
  uint32_t major, minor, access;
};

std::string Describe(const Request& q) {
  return std::string(q.type == DeviceType::kBlock ? "b " : "c ") + std::to_string(q.major) + ":" +
         std::to_string(q.minor) + " access " + std::to_string(q.access);
}

// The reference: each requested bit is decided by the last rule matching the device that has the
// bit (none: denied); the request is allowed when every bit is.
bool Reference(const DeviceRules& rules, const Request& q) {
  for (uint32_t bit : {kDeviceMknod, kDeviceRead, kDeviceWrite}) {
    if (!(q.access & bit)) continue;
    bool allowed = false;
    for (const DeviceRule& r : rules) {
      bool matches = (r.type == DeviceType::kAll || r.type == q.type) &&
                     (!r.major || *r.major == q.major) && (!r.minor || *r.minor == q.minor) &&
                     (r.access & bit);
      if (matches) allowed = r.allow;
    }
    if (!allowed) return false;
  }
  return true;
}

// Runs `prog` on the context of `q`; nullopt (plus a test failure) on anything the builder
// should never emit.
std::optional<uint64_t> Interpret(const std::vector<bpf_insn>& prog, const Request& q) {
  const std::array<uint32_t, 3> ctx = {q.access << 16 | static_cast<uint32_t>(q.type), q.major,
                                       q.minor};
  std::array<uint64_t, 11> reg{};
  std::array<bool, 11> set{};
  bool r1_is_ctx = true;
  set[1] = true;
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    auto fail = [&](const char* what) {
      ADD_FAILURE() << what << " at " << pc << " (code " << int(i.code) << ")";
      return std::nullopt;
    };
    if (i.dst_reg > 10 || i.src_reg > 10) return fail("bad register");
    const uint8_t d = i.dst_reg;
    const uint32_t imm = static_cast<uint32_t>(i.imm);
    auto write32 = [&](uint32_t v) {
      reg[d] = v;  // 32-bit ALU zero-extends
      set[d] = true;
      if (d == 1) r1_is_ctx = false;
    };
    auto jump = [&](bool taken) {
      if (i.off < 0) return false;
      if (taken) pc += i.off;
      return pc + 1 < prog.size() + 0;  // a jump must land on an instruction
    };
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        if (i.src_reg != 1 || !r1_is_ctx || i.off < 0 || i.off % 4 || i.off > 8) {
          return fail("load not from the context");
        }
        write32(ctx[i.off / 4]);
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        if (!set[d]) return fail("read of an unset register");
        write32(static_cast<uint32_t>(reg[d]) & imm);
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        if (!set[d] || imm > 31) return fail("bad shift");
        write32(static_cast<uint32_t>(reg[d]) >> imm);
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        if (!set[i.src_reg]) return fail("read of an unset register");
        write32(static_cast<uint32_t>(reg[i.src_reg]));
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        reg[d] = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        set[d] = true;
        if (d == 1) r1_is_ctx = false;
        break;
      case BPF_JMP32 | BPF_JEQ | BPF_K:
      case BPF_JMP32 | BPF_JNE | BPF_K: {
        if (!set[d]) return fail("compare of an unset register");
        bool eq = static_cast<uint32_t>(reg[d]) == imm;
        if (!jump((BPF_OP(i.code) == BPF_JEQ) == eq)) return fail("jump out of the program");
        break;
      }
      case BPF_JMP | BPF_EXIT:
        if (!set[0]) return fail("exit without r0");
        return reg[0];
      default:
        return fail("unexpected opcode");
    }
  }
  ADD_FAILURE() << "ran off the end of the program";
  return std::nullopt;
}

// The kernel's verifier refuses unreachable instructions and a last one that falls through.
void ExpectAllReachable(const std::vector<bpf_insn>& prog) {
  ASSERT_FALSE(prog.empty());
  EXPECT_EQ(prog.back().code, BPF_JMP | BPF_EXIT);
  std::vector<bool> seen(prog.size());
  seen[0] = true;
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    if (!seen[pc]) continue;
    const bpf_insn& i = prog[pc];
    if (i.code == (BPF_JMP | BPF_EXIT)) continue;
    if (pc + 1 < prog.size()) seen[pc + 1] = true;
    if (BPF_CLASS(i.code) == BPF_JMP32 && pc + 1 + i.off < prog.size()) seen[pc + 1 + i.off] = true;
  }
  for (size_t pc = 0; pc < prog.size(); ++pc) EXPECT_TRUE(seen[pc]) << "unreachable insn " << pc;
}

DeviceRule Rule(bool allow, DeviceType type, std::optional<uint32_t> major,
                std::optional<uint32_t> minor, uint32_t access = kDeviceAllAccess) {
  return DeviceRule{allow, type, major, minor, access};
}
constexpr auto kA = DeviceType::kAll, kB = DeviceType::kBlock, kC = DeviceType::kChar;

// A client that lists the usual devices itself: deny all, mknod of any device, then the devices.
DeviceRules FullList() {
  DeviceRules rules = {Rule(false, kA, {}, {}), Rule(true, kC, {}, {}, kDeviceMknod),
                       Rule(true, kB, {}, {}, kDeviceMknod)};
  for (auto [major, minor] : std::initializer_list<std::pair<uint32_t, uint32_t>>{
           {1, 3}, {1, 8}, {1, 7}, {5, 0}, {1, 5}, {1, 9}, {5, 1}, {5, 2}, {10, 200}}) {
    rules.push_back(Rule(true, kC, major, minor));
  }
  rules.push_back(Rule(true, kC, 136, {}));  // /dev/pts/*
  return rules;
}

// Every request over the numbers the rules name, their neighbours and a few others.
void ExpectSameAsReference(const DeviceRules& rules, const std::string& name) {
  auto prog = BuildDeviceProgram(rules);
  ExpectAllReachable(prog);
  std::set<uint32_t> numbers = {0, 1, 2, 3, 5, 7, 8, 9, 136, 200, 4294967295u};
  for (const DeviceRule& r : rules) {
    for (auto n : {r.major, r.minor}) {
      if (n) numbers.insert({*n, *n + 1, *n - 1});
    }
  }
  int failures = 0;
  for (DeviceType type : {kB, kC}) {
    for (uint32_t major : numbers) {
      for (uint32_t minor : numbers) {
        for (uint32_t access = 1; access <= kDeviceAllAccess; ++access) {
          Request q{type, major, minor, access};
          auto got = Interpret(prog, q);
          ASSERT_TRUE(got) << name;
          if ((*got == 1) != Reference(rules, q) && ++failures < 10) {
            ADD_FAILURE() << name << ": " << Describe(q) << " -> " << *got;
          }
        }
      }
    }
  }
}

TEST(DeviceProgramTest, FullList) {
  DeviceRules rules = FullList();
  ExpectSameAsReference(rules, "full list");
  auto prog = BuildDeviceProgram(rules);
  auto allowed = [&](Request q) { return Interpret(prog, q) == 1u; };
  EXPECT_TRUE(allowed({kC, 1, 3, kDeviceRead | kDeviceWrite}));     // /dev/null
  EXPECT_TRUE(allowed({kC, 136, 42, kDeviceRead | kDeviceWrite}));  // /dev/pts/42
  EXPECT_TRUE(allowed({kB, 8, 0, kDeviceMknod}));                   // mknod is allowed...
  EXPECT_FALSE(allowed({kB, 8, 0, kDeviceRead}));                   // ...opening is not
  EXPECT_FALSE(allowed({kC, 1, 1, kDeviceRead}));                   // /dev/mem
  EXPECT_FALSE(allowed({kB, 1, 3, kDeviceRead}));                   // a block 1:3 is not null
  // The leading deny-all is the default: it costs no instructions.
  DeviceRules without_deny(rules.begin() + 1, rules.end());
  EXPECT_EQ(BuildDeviceProgram(without_deny).size(), prog.size());
}

TEST(DeviceProgramTest, RuncDefaultsAfterTheSpecRules) {
  // runc spec's deny-all plus the defaults runc appends: the devices every container needs.
  DeviceRules runc_spec = WithDefaultDevices({Rule(false, kA, {}, {})}, {});
  ExpectSameAsReference(runc_spec, "runc spec + defaults");
  auto prog = BuildDeviceProgram(runc_spec);
  EXPECT_EQ(Interpret(prog, {kC, 1, 3, kDeviceRead | kDeviceWrite}), 1u);
  EXPECT_EQ(Interpret(prog, {kC, 1, 1, kDeviceRead}), 0u);
  // A list that has them already: repeating them costs no instructions (the later copy decides).
  DeviceRules full = FullList();
  DeviceRules full_plus = WithDefaultDevices(full, {});
  ExpectSameAsReference(full_plus, "full list + defaults");
  EXPECT_EQ(BuildDeviceProgram(full_plus).size(), BuildDeviceProgram(full).size());
  // A deny in the spec cannot take away a default (runc appends them, so they come last).
  DeviceRules deny_null = WithDefaultDevices({Rule(false, kC, 1, 3)}, {});
  EXPECT_EQ(Interpret(BuildDeviceProgram(deny_null), {kC, 1, 3, kDeviceRead}), 1u);
}

// What podman 4.3 (cgroupfs manager) sent, captured from config.json on this host: `podman run`,
// and `podman run --device /dev/fuse --device-cgroup-rule 'c 42:* rm'` (linux.devices: /dev/fuse).
TEST(DeviceProgramTest, PodmanCapturedLists) {
  auto plain = ParseDeviceRules(nlohmann::json::parse(R"([{"allow":false,"access":"rwm"}])"));
  ASSERT_TRUE(plain) << plain.error().ToString();
  DeviceRules rules = WithDefaultDevices(*plain, {});
  ExpectSameAsReference(rules, "podman run");
  EXPECT_EQ(Interpret(BuildDeviceProgram(rules), {kC, 136, 0, kDeviceRead | kDeviceWrite}), 1u);
  EXPECT_EQ(BuildDeviceProgram(rules).size(), 62u);  // the deny-all costs nothing
  std::cout << "podman run: " << rules.size() << " rules with runc's defaults, "
            << BuildDeviceProgram(rules).size() << " instructions\n";

  auto with_device = ParseDeviceRules(nlohmann::json::parse(
      R"([{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"},{"allow":true,"type":"c","major":42,"access":"rm"}])"));
  ASSERT_TRUE(with_device) << with_device.error().ToString();
  std::vector<std::string> paths = {"/dev/fuse"};
  rules = WithDefaultDevices(*with_device, paths);
  ExpectSameAsReference(rules, "podman run --device");
  auto prog = BuildDeviceProgram(rules);
  EXPECT_EQ(Interpret(prog, {kC, 10, 229, kDeviceRead | kDeviceWrite}), 1u);  // /dev/fuse
  EXPECT_EQ(Interpret(prog, {kC, 42, 7, kDeviceRead}), 1u);
  EXPECT_EQ(Interpret(prog, {kC, 42, 7, kDeviceRead | kDeviceWrite}), 0u);  // "rm": no write
  EXPECT_EQ(Interpret(prog, {kC, 1, 3, kDeviceWrite}), 1u);
  EXPECT_EQ(Interpret(prog, {kB, 8, 0, kDeviceRead}), 0u);
}

TEST(DeviceProgramTest, RuncSpecDenyAllIsTheDefaultOnly) {
  DeviceRules rules = {Rule(false, kA, {}, {})};
  ExpectSameAsReference(rules, "runc spec");
  auto prog = BuildDeviceProgram(rules);
  EXPECT_EQ(prog.size(), 8u);  // the 6 loads of the context, then r0 = 0; exit
  EXPECT_EQ(BuildDeviceProgram({}).size(), 8u);
  EXPECT_EQ(Interpret(prog, {kC, 1, 3, kDeviceRead}), 0u);
}

TEST(DeviceProgramTest, AllowAllAfterRulesDecidesEverything) {
  DeviceRules rules = {Rule(false, kC, 1, 3), Rule(true, kA, {}, {})};
  ExpectSameAsReference(rules, "allow all last");
  EXPECT_EQ(BuildDeviceProgram(rules).size(), 8u);  // the deny before it can never decide
  DeviceRules deny_after = {Rule(true, kA, {}, {}), Rule(false, kC, 1, 3, kDeviceWrite)};
  ExpectSameAsReference(deny_after, "allow all then deny 1:3 w");
  auto prog = BuildDeviceProgram(deny_after);
  EXPECT_EQ(Interpret(prog, {kC, 1, 3, kDeviceRead}), 1u);
  EXPECT_EQ(Interpret(prog, {kC, 1, 3, kDeviceRead | kDeviceWrite}), 0u);
}

TEST(DeviceProgramTest, PartialAccessIsDecidedPerBit) {
  // A later deny of one bit takes it from an earlier allow, also when asked together with an
  // allowed bit (runc's "request is a subset of the rule" matching let O_RDWR through here).
  DeviceRules rules = {Rule(true, kC, 1, 3), Rule(false, kC, 1, 3, kDeviceWrite)};
  ExpectSameAsReference(rules, "deny w after allow rwm");
  auto prog = BuildDeviceProgram(rules);
  EXPECT_EQ(Interpret(prog, {kC, 1, 3, kDeviceRead}), 1u);
  EXPECT_EQ(Interpret(prog, {kC, 1, 3, kDeviceRead | kDeviceWrite}), 0u);
  // Two allows of one bit each add up to both.
  DeviceRules split = {Rule(true, kC, 1, 3, kDeviceRead), Rule(true, kC, 1, {}, kDeviceWrite)};
  ExpectSameAsReference(split, "allow r, allow w");
  EXPECT_EQ(Interpret(BuildDeviceProgram(split), {kC, 1, 3, kDeviceRead | kDeviceWrite}), 1u);
  EXPECT_EQ(Interpret(BuildDeviceProgram(split), {kC, 1, 4, kDeviceRead | kDeviceWrite}), 0u);
}

TEST(DeviceProgramTest, LargeNumbersCompareAsUnsigned32Bit) {
  DeviceRules rules = {Rule(true, kC, 4294967295u, 2147483648u)};
  ExpectSameAsReference(rules, "large numbers");
  EXPECT_EQ(Interpret(BuildDeviceProgram(rules), {kC, 4294967295u, 2147483648u, kDeviceRead}), 1u);
}

TEST(DeviceProgramTest, RandomRuleListsMatchTheReference) {
  std::mt19937 rng(14);  // fixed: the same lists every run
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const DeviceType types[] = {kA, kB, kC};
  for (int list = 0; list < 300; ++list) {
    DeviceRules rules;
    for (int n = pick(9); n > 0; --n) {
      auto number = [&]() -> std::optional<uint32_t> {
        int v = pick(4);
        return v == 3 ? std::nullopt : std::optional<uint32_t>(v);
      };
      uint32_t access = static_cast<uint32_t>(pick(7) + 1);
      rules.push_back(Rule(pick(2) == 1, types[pick(3)], number(), number(), access));
    }
    ExpectSameAsReference(rules, "random list " + std::to_string(list));
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace podshim::cgroups
