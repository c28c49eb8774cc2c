// Loads a device program (device_program.h) with raw bpf(2) calls and attaches it to a cgroup v2
// directory as its BPF_CGROUP_DEVICE filter (BPF_F_ALLOW_MULTI, as runc and systemd do),
// replacing the programs attached there before, so an update never leaves two filters behind.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <span>
#include <vector>

#include "cgroups/device_rules.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::cgroups {

// Loads `program` as a BPF_PROG_TYPE_CGROUP_DEVICE program named "podshim_dev". Errors carry
// the verifier's log.
Result<UniqueFd> LoadDeviceProgram(std::span<const bpf_insn> program);

// The ids of the device programs attached directly to the cgroup (not the inherited ones).
Result<std::vector<uint32_t>> AttachedDevicePrograms(int cgroup_dir_fd);

// Makes the loaded program `prog_fd` the cgroup's only directly attached device program: one old
// program is swapped atomically (BPF_F_REPLACE); several are detached after the new one is
// attached (in between both filter, which only ever denies more). Returns the program's id.
// The attachment keeps the program alive; it goes with the cgroup.
Result<uint32_t> AttachLoadedDeviceProgram(int cgroup_dir_fd, int prog_fd);

// LoadDeviceProgram + AttachLoadedDeviceProgram.
Result<uint32_t> AttachDeviceProgram(int cgroup_dir_fd, std::span<const bpf_insn> program);

// BuildDeviceProgram + AttachDeviceProgram: what create and update call.
Result<uint32_t> ApplyDeviceRules(int cgroup_dir_fd, const DeviceRules& rules);

// Detaches every device program attached directly to the cgroup.
Status DetachDevicePrograms(int cgroup_dir_fd);

}  // namespace podshim::cgroups
