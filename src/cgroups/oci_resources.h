// linux.resources of an OCI config.json (runtime-spec config-linux.md) as cgroup v2 file values,
// with runc's conversions (libcontainer/specconv and cgroups/fs2): cpu.shares -> cpu.weight,
// quota/period -> cpu.max, memory.swap (memory+swap in the spec) -> memory.swap.max, blockIO
// weight -> io.weight or io.bfq.weight, throttles -> io.max lines, `unified` verbatim. Pure: the
// caller writes the values (CgroupManager::Apply). `devices` is not mapped here (v2 has no
// devices files: an eBPF program does it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cgroups/cgroup_file_value.h"
#include "cgroups/cpu_conversion.h"
#include "common/result.h"

namespace podshim::cgroups {

struct OciResourceOptions {
  // io.bfq.weight exists where the container's cgroup goes (the BFQ scheduler is in use): the
  // blockIO weights are written to it as given, and weightDevice too (runc's choice). Otherwise
  // weight is converted to io.weight and weightDevice is ignored (with a note).
  bool bfq = false;
  // cpu.shares -> cpu.weight. Default: the curve of runc >= 1.3.2 and crun >= 1.23 (1024 -> 100).
  CpuWeightFormula weight_formula = CpuWeightFormula::k2025;
};

struct OciResourceValues {
  CgroupFileValues files;  // in write order (pids, memory, io, cpu, cpuset, hugetlb, rdma, unified)
  // Settings that have no cgroup v2 file and are not applied, one line each, naming the field:
  // "linux.resources.memory.disableOOMKiller: cgroup v2 has no switch for the OOM killer".
  std::vector<std::string> ignored;
};

// Parses `resources_json` (the linux.resources object; empty text means none) and maps it.
// Errors (kInvalidSpec) name the field: "linux.resources.memory.limit: expected an integer".
// `field` prefixes the field names ("linux.resources"; `update --resources` passes its own).
Result<OciResourceValues> MapOciResources(std::string_view resources_json,
                                          const OciResourceOptions& options = {},
                                          std::string_view field = "linux.resources");

// runc's ConvertMemorySwapToCgroupV2Value: the spec's swap is memory+swap, cgroup v2's is swap
// alone. 0 = unset, -1 = "max". Returns the memory.swap.max value (-1 = "max", 0 = unset).
// Errors: swap without a memory limit, a memory limit above swap.
Result<int64_t> SwapToCgroupV2(int64_t swap, int64_t memory);

// runc's ConvertBlkIOToIOWeightValue: blkio weight [10, 1000] -> io.weight [1, 10000]; 0 -> 0.
uint64_t BlkioWeightToIoWeight(uint64_t weight);

}  // namespace podshim::cgroups
