#include "cgroups/device_program.h"

#include <algorithm>
#include <cstddef>

namespace podshim::cgroups {
namespace {

// Registers while the program runs: r2 the device type, r3 the access bits not decided yet,
// r4 the major, r5 the minor; r1 (the context) becomes scratch once they are loaded.
constexpr uint8_t kR0 = 0, kR1 = 1, kR2 = 2, kR3 = 3, kR4 = 4, kR5 = 5;
constexpr int16_t kSkip = 0x7fff;  // placeholder: "to the end of this rule's block"

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn LoadCtxWord(uint8_t dst, int16_t off) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, kR1, off, 0);
}
bpf_insn Alu32Imm(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn Mov32Reg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn Mov64Imm(uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn Jump32Imm(uint8_t op, uint8_t dst, uint32_t imm) {
  return Insn(BPF_JMP32 | op | BPF_K, dst, 0, kSkip, static_cast<int32_t>(imm));
}
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

void Return(std::vector<bpf_insn>& out, bool allow) {
  out.push_back(Mov64Imm(kR0, allow ? 1 : 0));
  out.push_back(Exit());
}

// A rule that decides every request of every device.
bool MatchesEverything(const DeviceRule& r) {
  return r.type == DeviceType::kAll && !r.major && !r.minor && r.access == kDeviceAllAccess;
}

// One rule's block: falls through to the next block when the rule does not decide the request.
std::vector<bpf_insn> RuleBlock(const DeviceRule& r) {
  std::vector<bpf_insn> b;
  if (r.type != DeviceType::kAll) {
    b.push_back(Jump32Imm(BPF_JNE, kR2, static_cast<uint32_t>(r.type)));
  }
  if (r.major) b.push_back(Jump32Imm(BPF_JNE, kR4, *r.major));
  if (r.minor) b.push_back(Jump32Imm(BPF_JNE, kR5, *r.minor));
  if (r.access != kDeviceAllAccess) {
    if (r.allow) {
      // The bits this rule allows are decided; allow once none is left undecided.
      b.push_back(Alu32Imm(BPF_AND, kR3, static_cast<int32_t>(~r.access & kDeviceAllAccess)));
      b.push_back(Jump32Imm(BPF_JNE, kR3, 0));
    } else {
      // Deny when any undecided bit is one this rule denies.
      b.push_back(Mov32Reg(kR1, kR3));
      b.push_back(Alu32Imm(BPF_AND, kR1, static_cast<int32_t>(r.access)));
      b.push_back(Jump32Imm(BPF_JEQ, kR1, 0));
    }
  }
  Return(b, r.allow);
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i].off == kSkip) b[i].off = static_cast<int16_t>(b.size() - i - 1);
  }
  return b;
}

}  // namespace

std::vector<bpf_insn> BuildDeviceProgram(const DeviceRules& rules) {
  // The rules that can decide, last first: stop at one matching everything (the ones before it
  // in the spec never get a say), skip a rule repeated later (the later copy decides first, the
  // same way), then drop the denies at the end, the default denies anyway.
  std::vector<const DeviceRule*> order;
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    if (std::ranges::any_of(order, [&](const DeviceRule* r) { return *r == *it; })) continue;
    order.push_back(&*it);
    if (MatchesEverything(*it)) break;
  }
  while (!order.empty() && !order.back()->allow) order.pop_back();

  std::vector<bpf_insn> out = {
      LoadCtxWord(kR2, 0),             // access_type
      Alu32Imm(BPF_AND, kR2, 0xffff),  // type: the low 16 bits
      LoadCtxWord(kR3, 0),             //
      Alu32Imm(BPF_RSH, kR3, 16),      // access: the high 16 bits
      LoadCtxWord(kR4, 4),             // major
      LoadCtxWord(kR5, 8),             // minor
  };
  for (const DeviceRule* r : order) {
    auto block = RuleBlock(*r);
    out.insert(out.end(), block.begin(), block.end());
  }
  if (order.empty() || !MatchesEverything(*order.back())) Return(out, false);
  return out;
}

}  // namespace podshim::cgroups
