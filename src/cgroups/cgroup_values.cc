#include "cgroups/cgroup_values.h"

#include <array>
#include <set>
#include <string>
#include <utility>

#include "cgroups/quantity.h"
#include "common/quoted.h"

namespace podshim::cgroups {
namespace {

constexpr std::string_view kMemoryMin = "memory.min";
constexpr std::string_view kMemoryLow = "memory.low";
constexpr std::string_view kMemoryOomGroup = "memory.oom.group";

int64_t Get(const ResourceList& list, std::string_view name) {
  auto it = list.find(std::string(name));
  return it == list.end() ? 0 : it->second;
}

// HugePageLimits: page size -> bytes, summing every hugepages-<size> entry of `list`.
Result<std::map<int64_t, int64_t>> HugePageLimits(const ResourceList& list) {
  std::map<int64_t, int64_t> limits;
  for (const auto& [name, value] : list) {
    if (!IsHugePageResource(name)) continue;
    int64_t& limit = limits[PODSHIM_TRY(HugePageSizeFromResourceName(name))];
    if (__builtin_add_overflow(limit, value, &limit)) limit = INT64_MAX;
  }
  return limits;
}

// MemoryQoS with TieredReservation: Guaranteed protects with memory.min, Burstable with memory.low.
void AddMemoryProtection(ResourceConfig& config, QosClass qos, int64_t request_bytes) {
  if (request_bytes <= 0 || qos == QosClass::kBestEffort) return;
  std::string_view file = qos == QosClass::kGuaranteed ? kMemoryMin : kMemoryLow;
  config.unified[std::string(file)] = std::to_string(request_bytes);
}

}  // namespace

Status ValidateCgroupValueOptions(const CgroupValueOptions& options) {
  if (options.cpu_cfs_period_us < 1000 || options.cpu_cfs_period_us > 1000000) {
    return Error::Invalid("cpu cfs period " + std::to_string(options.cpu_cfs_period_us) +
                          "us is outside [1ms, 1s]");
  }
  for (int64_t size : options.hugepage_sizes) PODSHIM_TRY(HugePageCgroupSize(size));
  return Ok();
}

Result<int64_t> HugePageSizeFromResourceName(std::string_view name) {
  if (!IsHugePageResource(name)) {
    return Error::Invalid("resource " + Quoted(name) + " is not a hugepages resource");
  }
  auto size = Quantity::Parse(name.substr(kHugePagesPrefix.size()));
  Result<int64_t> bytes = size ? size->Value() : Result<int64_t>(size.error());
  if (!bytes || *bytes <= 0 || !HugePageCgroupSize(*bytes)) {
    return Error::Invalid("resource " + Quoted(name) + " does not name a valid page size");
  }
  return *bytes;
}

Result<std::string> HugePageCgroupSize(int64_t page_size_bytes) {
  static constexpr std::array<std::string_view, 6> kUnits = {"B", "KB", "MB", "GB", "TB", "PB"};
  if (page_size_bytes <= 0) {
    return Error::Invalid("huge page size " + std::to_string(page_size_bytes) + " is not positive");
  }
  int64_t size = page_size_bytes;
  size_t unit = 0;
  while (size % 1024 == 0 && unit + 1 < kUnits.size()) {
    size /= 1024;
    ++unit;
  }
  if (size > 1024 && unit + 1 < kUnits.size()) {
    return Error::Invalid("huge page size " + std::to_string(page_size_bytes) +
                          " is not a whole number of the largest unit that divides it");
  }
  return std::to_string(size) + std::string(kUnits[unit]);
}

Result<std::vector<int64_t>> HugePageSizesIn(const PodResourcesInput& pod) {
  std::set<int64_t> sizes;
  auto scan = [&](const ResourceList& list) -> Status {
    for (const auto& [name, value] : list) {
      if (IsHugePageResource(name)) sizes.insert(PODSHIM_TRY(HugePageSizeFromResourceName(name)));
    }
    return Ok();
  };
  for (const ContainerResources& c : pod.containers) {
    PODSHIM_TRY(scan(c.requests));
    PODSHIM_TRY(scan(c.limits));
  }
  PODSHIM_TRY(scan(pod.overhead));
  if (pod.pod_level) {
    PODSHIM_TRY(scan(pod.pod_level->requests));
    PODSHIM_TRY(scan(pod.pod_level->limits));
  }
  return std::vector<int64_t>(sizes.begin(), sizes.end());
}

Result<ResourceConfig> PodResourceConfig(const PodResourcesInput& pod, QosClass qos,
                                         const CgroupValueOptions& options) {
  const ResourceList requests = PodRequests(pod);
  const ResourceList limits = PodLimits(pod);

  // A Burstable pod gets a pod limit only if every container (init and sidecar included) has one,
  // or the pod level sets it.
  bool cpu_limits_declared = true;
  bool memory_limits_declared = true;
  for (const ContainerResources& c : pod.containers) {
    if (Get(c.limits, kCpu) == 0) cpu_limits_declared = false;
    if (Get(c.limits, kMemory) == 0) memory_limits_declared = false;
  }
  if (pod.pod_level) {
    if (Get(pod.pod_level->limits, kCpu) != 0) cpu_limits_declared = true;
    if (Get(pod.pod_level->limits, kMemory) != 0) memory_limits_declared = true;
  }

  const int64_t shares = MilliCpuToShares(Get(requests, kCpu));
  const int64_t period = options.cpu_cfs_period_us;
  const int64_t quota = options.cpu_cfs_quota ? MilliCpuToQuota(Get(limits, kCpu), period) : -1;
  const int64_t memory_limit = Get(limits, kMemory);

  ResourceConfig config;
  switch (qos) {
    case QosClass::kGuaranteed:
      config.cpu_shares = shares;
      config.cpu_quota_us = quota;
      config.cpu_period_us = period;
      config.memory_limit_bytes = memory_limit;
      break;
    case QosClass::kBurstable:
      config.cpu_shares = shares;
      if (cpu_limits_declared) {
        config.cpu_quota_us = quota;
        config.cpu_period_us = period;
      }
      if (memory_limits_declared) config.memory_limit_bytes = memory_limit;
      break;
    case QosClass::kBestEffort:
      config.cpu_shares = kMinShares;
      break;
  }
  config.hugepage_limits = PODSHIM_TRY(HugePageLimits(requests));
  if (options.pod_pids_limit > 0) config.pids_limit = options.pod_pids_limit;
  if (options.memory_qos) AddMemoryProtection(config, qos, Get(requests, kMemory));
  return config;
}

Result<ResourceConfig> ContainerResourceConfig(const PodResourcesInput& pod,
                                               const ContainerResources& container, QosClass qos,
                                               const CgroupValueOptions& options) {
  const int64_t cpu_request = Get(container.requests, kCpu);
  const int64_t cpu_limit = Get(container.limits, kCpu);
  const int64_t memory_limit = Get(container.limits, kMemory);

  ResourceConfig config;
  // kubelet repeats "cpu request defaults to the cpu limit" here for older API objects.
  config.cpu_shares =
      MilliCpuToShares(cpu_request == 0 && cpu_limit != 0 ? cpu_limit : cpu_request);
  // kubelet passes quota 0 with the period for an unlimited container, which runc writes as
  // "max <period>": the kernel default. podshim leaves cpu.max untouched instead.
  if (options.cpu_cfs_quota && cpu_limit != 0) {
    config.cpu_quota_us = MilliCpuToQuota(cpu_limit, options.cpu_cfs_period_us);
    config.cpu_period_us = options.cpu_cfs_period_us;
  }
  if (memory_limit != 0) config.memory_limit_bytes = memory_limit;

  // Container hugetlb limits come from its limits; with pod-level hugepages a container that sets
  // none inherits the pod's, so the explicit 0 for unrequested sizes does not starve it.
  ResourceList hugepages;
  for (const auto& [name, value] : container.limits) {
    if (IsHugePageResource(name)) hugepages[name] = value;
  }
  if (pod.pod_level) {
    for (const auto& [name, value] : pod.pod_level->limits) {
      if (IsHugePageResource(name)) hugepages.emplace(name, value);
    }
  }
  config.hugepage_limits = PODSHIM_TRY(HugePageLimits(hugepages));

  if (!options.single_process_oom_kill) config.unified[std::string(kMemoryOomGroup)] = "1";
  if (options.memory_qos) AddMemoryProtection(config, qos, Get(container.requests, kMemory));
  return config;
}

Result<CgroupFileValues> CgroupFiles(const ResourceConfig& config,
                                     const CgroupValueOptions& options) {
  CgroupFileValues files;
  if (config.cpu_shares) {
    int64_t weight = CpuSharesToWeight(*config.cpu_shares, options.cpu_weight_formula);
    if (weight != 0) files.push_back({"cpu.weight", std::to_string(weight)});
  }
  // runc fs2 setCPU: a non-positive quota is "max"; the period follows when set.
  const int64_t quota = config.cpu_quota_us.value_or(0);
  const int64_t period = config.cpu_period_us.value_or(0);
  if (quota != 0 || period != 0) {
    std::string value = quota > 0 ? std::to_string(quota) : "max";
    if (period != 0) value += " " + std::to_string(period);
    files.push_back({"cpu.max", std::move(value)});
  }
  // runc numToStr: 0 is "leave alone", -1 is "max".
  if (config.memory_limit_bytes && *config.memory_limit_bytes != 0) {
    files.push_back({"memory.max", *config.memory_limit_bytes == -1
                                       ? std::string("max")
                                       : std::to_string(*config.memory_limit_bytes)});
  }
  for (const auto& [file, value] : config.unified) files.push_back({file, value});
  if (!config.hugepage_limits.empty() || !options.hugepage_sizes.empty()) {
    std::map<int64_t, int64_t> hugepages = config.hugepage_limits;
    for (int64_t size : options.hugepage_sizes) hugepages.emplace(size, 0);
    for (const auto& [size, limit] : hugepages) {
      std::string infix = PODSHIM_TRY(HugePageCgroupSize(size));
      files.push_back({"hugetlb." + infix + ".max", std::to_string(limit)});
    }
  }
  if (config.pids_limit) {
    files.push_back({"pids.max", *config.pids_limit < 0 ? std::string("max")
                                                        : std::to_string(*config.pids_limit)});
  }
  return files;
}

Result<PodCgroupValues> ComputePodCgroupValues(const PodResourcesInput& pod,
                                               const CgroupValueOptions& options) {
  PODSHIM_TRY(ValidateCgroupValueOptions(options));
  PodCgroupValues out;
  out.qos = ComputeQos(pod);
  out.requests = PodRequests(pod);
  out.limits = PodLimits(pod);
  out.pod_config = PODSHIM_TRY(PodResourceConfig(pod, out.qos, options));
  out.pod_files = PODSHIM_TRY(CgroupFiles(out.pod_config, options));
  for (const ContainerResources& c : pod.containers) {
    ContainerCgroupValues values{c.name, c.role, {}, {}};
    values.config = PODSHIM_TRY_WRAP(ContainerResourceConfig(pod, c, out.qos, options),
                                     "container " + Quoted(c.name));
    values.files = PODSHIM_TRY(CgroupFiles(values.config, options));
    out.containers.push_back(std::move(values));
  }
  return out;
}

}  // namespace podshim::cgroups
