// From effective resources to the cgroup v2 values of the pod cgroup and of each container
// cgroup (SEMANTICS 2 and 10): kubelet's ResourceConfigForPod and calculateLinuxResources, then the
// encoding runc's fs2 driver writes (cpu.weight, cpu.max, memory.max, memory.min/low,
// memory.oom.group, hugetlb.<size>.max, pids.max). A value kubelet leaves unset is not emitted.
// Pure: these are the numbers `podshim resources` prints and the manager writes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/cgroup_file_value.h"
#include "cgroups/cpu_conversion.h"
#include "cgroups/pod_resources.h"
#include "common/result.h"

namespace podshim::cgroups {

// The resource switches of SEMANTICS 10, as plain data (the CLI fills it).
struct CgroupValueOptions {
  CpuWeightFormula cpu_weight_formula = CpuWeightFormula::k2025;  // --cpu-weight-formula
  bool memory_qos = false;                          // --memory-qos (TieredReservation)
  bool single_process_oom_kill = false;             // --single-process-oom-kill
  int64_t pod_pids_limit = -1;                      // --pod-pids-limit; <= 0 means unlimited
  int64_t cpu_cfs_period_us = kDefaultCfsPeriodUs;  // --cpu-cfs-period
  bool cpu_cfs_quota = true;                        // false with --no-cpu-cfs-quota
  // Huge page sizes (bytes) written on every cgroup: a size a cgroup does not request gets an
  // explicit 0, so it cannot use pages meant for another. kubelet lists every size the host
  // offers; podshim passes the sizes the pod names (HugePageSizesIn), so the output does not
  // depend on the host. Empty: only requested sizes are written.
  std::vector<int64_t> hugepage_sizes;
};

// The period must lie in [1 ms, 1 s], as kubelet's cpuCFSQuotaPeriod validation requires.
Status ValidateCgroupValueOptions(const CgroupValueOptions& options);

// kubelet's cm.ResourceConfig: what is set, before encoding. std::nullopt = left unset.
struct ResourceConfig {
  std::optional<int64_t> cpu_shares;
  std::optional<int64_t> cpu_quota_us;  // -1: no quota ("max")
  std::optional<int64_t> cpu_period_us;
  std::optional<int64_t> memory_limit_bytes;
  std::map<int64_t, int64_t> hugepage_limits;  // page size in bytes -> limit in bytes
  std::optional<int64_t> pids_limit;
  std::map<std::string, std::string> unified;  // memory.min / memory.low / memory.oom.group
};

// "hugepages-2Mi" -> 2097152. Error naming the resource if the size is not a positive quantity
// that cgroup hugetlb file names can express.
Result<int64_t> HugePageSizeFromResourceName(std::string_view name);
// The hugetlb file infix for a page size, as kubelet's HugePageUnitSizeFromByteSize:
// 2097152 -> "2MB", 1073741824 -> "1GB", 65536 -> "64KB".
Result<std::string> HugePageCgroupSize(int64_t page_size_bytes);

// Every page size named by a hugepages-<size> resource anywhere in the pod, ascending.
Result<std::vector<int64_t>> HugePageSizesIn(const PodResourcesInput& pod);

// ResourceConfigForPod (SEMANTICS 2.2) with pod pids.max and pod-level MemoryQoS (2.5). `pod` must
// have been through ApplyApiDefaults.
Result<ResourceConfig> PodResourceConfig(const PodResourcesInput& pod, QosClass qos,
                                         const CgroupValueOptions& options);
// The container cgroup: kubelet's calculateLinuxResources + MemoryQoS, with runc's encoding.
Result<ResourceConfig> ContainerResourceConfig(const PodResourcesInput& pod,
                                               const ContainerResources& container, QosClass qos,
                                               const CgroupValueOptions& options);

// The files and strings to write, in write order: cpu.weight, cpu.max, memory.max, the unified
// entries (memory.low, memory.min, memory.oom.group), hugetlb.<size>.max by page size, pids.max.
// runc also mirrors each hugetlb value into hugetlb.<size>.rsvd.max where the kernel has it; that
// is the manager's job, since it depends on the host.
Result<CgroupFileValues> CgroupFiles(const ResourceConfig& config,
                                     const CgroupValueOptions& options);

struct ContainerCgroupValues {
  std::string name;
  ContainerRole role = ContainerRole::kApp;
  ResourceConfig config;
  CgroupFileValues files;
};

// Everything `podshim resources` prints, computed from a defaulted pod.
struct PodCgroupValues {
  QosClass qos = QosClass::kBestEffort;
  ResourceList requests;  // PodRequests (overhead included)
  ResourceList limits;    // PodLimits
  ResourceConfig pod_config;
  CgroupFileValues pod_files;
  std::vector<ContainerCgroupValues> containers;  // spec order
};
Result<PodCgroupValues> ComputePodCgroupValues(const PodResourcesInput& pod,
                                               const CgroupValueOptions& options);

}  // namespace podshim::cgroups
