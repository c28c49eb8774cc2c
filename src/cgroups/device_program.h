// Turns device rules into a BPF_PROG_TYPE_CGROUP_DEVICE program (the instructions only; loading
// and attaching is device_filter_attach.h). Pure. The program decides each requested access bit
// by the last rule that matches the device and has that bit, default deny, and allows a request
// only when every bit of it is allowed.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "cgroups/device_rules.h"

namespace podshim::cgroups {

// The program for `rules`. Its context is struct bpf_cgroup_dev_ctx (access_type = access << 16 |
// type, major, minor: three u32); it returns 1 to allow, 0 to deny. It uses only 32-bit loads,
// 32-bit ALU AND/RSH/MOV, a 64-bit MOV of an immediate into r0, JMP32 JEQ/JNE against
// immediates (always forward) and EXIT. Rules that can never decide (behind a rule matching
// every device with "rwm", or denies only followed by the default deny) are left out.
std::vector<bpf_insn> BuildDeviceProgram(const DeviceRules& rules);

}  // namespace podshim::cgroups
