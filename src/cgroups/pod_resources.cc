#include "cgroups/pod_resources.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace podshim::cgroups {
namespace {

// a + b, saturating at the int64 bounds instead of overflowing.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// addResourceList: list[name] += value, creating absent entries.
void Add(ResourceList& list, const ResourceList& more) {
  for (const auto& [name, value] : more) list[name] = SaturatingAdd(list[name], value);
}

// maxResourceList: list[name] = max(list[name], value), creating absent entries.
void Max(ResourceList& list, const ResourceList& other) {
  for (const auto& [name, value] : other) {
    auto it = list.find(name);
    if (it == list.end()) {
      list.emplace(name, value);
    } else {
      it->second = std::max(it->second, value);
    }
  }
}

// aggregateContainerResourcesByFn of component-helpers (SEMANTICS 1.2).
ResourceList Aggregate(const PodResourcesInput& pod, ResourceList ContainerResources::*field) {
  ResourceList result;
  for (const ContainerResources& c : pod.containers) {
    if (c.role == ContainerRole::kApp) Add(result, c.*field);
  }
  ResourceList sidecars;  // cumulative sidecars declared so far
  ResourceList init_peak;
  for (const ContainerResources& c : pod.containers) {
    if (c.role == ContainerRole::kSidecar) {
      Add(result, c.*field);
      Add(sidecars, c.*field);
      Max(init_peak, sidecars);
    } else if (c.role == ContainerRole::kInit) {
      ResourceList use = c.*field;
      Add(use, sidecars);
      Max(init_peak, use);
    }
  }
  Max(result, init_peak);
  return result;
}

bool HasSupportedResource(const ResourceList& list) {
  return std::any_of(list.begin(), list.end(),
                     [](const auto& entry) { return IsSupportedPodLevelResource(entry.first); });
}

bool PodLevelRequestsSet(const PodResourcesInput& pod) {
  return pod.pod_level && HasSupportedResource(pod.pod_level->requests);
}

bool PodLevelLimitsSet(const PodResourcesInput& pod) {
  return pod.pod_level && HasSupportedResource(pod.pod_level->limits);
}

void ApplyPodLevel(ResourceList& result, const ResourceList& pod_level) {
  for (const auto& [name, value] : pod_level) {
    if (IsSupportedPodLevelResource(name)) result[name] = value;
  }
}

bool AllContainersHaveLimit(const PodResourcesInput& pod, const std::string& name) {
  return std::all_of(pod.containers.begin(), pod.containers.end(),
                     [&](const ContainerResources& c) { return c.limits.contains(name); });
}

// defaultHugePagePodLimits (pkg/apis/core/v1/defaults.go).
void DefaultHugePagePodLimits(PodResourcesInput& pod) {
  PodLevelResources& level = *pod.pod_level;
  if (level.limits.empty() && level.requests.empty()) return;
  for (const auto& [name, value] : AggregateContainerLimits(pod)) {
    if (!IsHugePageResource(name) || level.requests.contains(name)) continue;
    level.limits.emplace(name, value);  // keeps an explicit pod-level limit
  }
}

// defaultPodRequests: only when pod-level limits are given.
void DefaultPodRequests(PodResourcesInput& pod) {
  PodLevelResources& level = *pod.pod_level;
  if (level.limits.empty()) return;
  for (const auto& [name, value] : AggregateContainerRequests(pod)) {
    // Overcommittable pod-level resources (cpu, memory) default to the container aggregate.
    if (IsSupportedPodLevelResource(name) && !IsHugePageResource(name)) {
      level.requests.emplace(name, value);
    }
  }
  for (const auto& [name, value] : level.limits) {
    if (IsSupportedPodLevelResource(name)) level.requests.emplace(name, value);
  }
}

// defaultPodLimits: cpu/memory pod limits from containers when only pod requests are given and
// every container has a limit for the resource.
void DefaultPodLimits(PodResourcesInput& pod) {
  if (PodLevelLimitsSet(pod) || !PodLevelRequestsSet(pod)) return;
  PodLevelResources& level = *pod.pod_level;
  for (const auto& [name, value] : AggregateContainerLimits(pod)) {
    if (level.limits.contains(name) || !IsSupportedPodLevelResource(name) ||
        IsHugePageResource(name) || !AllContainersHaveLimit(pod, name)) {
      continue;
    }
    level.limits.emplace(name, value);
  }
}

}  // namespace

std::string_view QosClassName(QosClass qos) {
  switch (qos) {
    case QosClass::kGuaranteed:
      return "Guaranteed";
    case QosClass::kBurstable:
      return "Burstable";
    case QosClass::kBestEffort:
      break;
  }
  return "BestEffort";
}

bool IsHugePageResource(std::string_view name) { return name.starts_with(kHugePagesPrefix); }

bool IsSupportedPodLevelResource(std::string_view name) {
  return name == kCpu || name == kMemory || IsHugePageResource(name);
}

void ApplyApiDefaults(PodResourcesInput& pod) {
  for (ContainerResources& c : pod.containers) {
    for (const auto& [name, value] : c.limits) c.requests.emplace(name, value);
  }
  if (!pod.pod_level) return;
  DefaultHugePagePodLimits(pod);
  DefaultPodRequests(pod);
  DefaultPodLimits(pod);
}

ResourceList AggregateContainerRequests(const PodResourcesInput& pod) {
  return Aggregate(pod, &ContainerResources::requests);
}

ResourceList AggregateContainerLimits(const PodResourcesInput& pod) {
  return Aggregate(pod, &ContainerResources::limits);
}

ResourceList PodRequests(const PodResourcesInput& pod, PodResourcesOptions options) {
  ResourceList requests = AggregateContainerRequests(pod);
  if (PodLevelRequestsSet(pod)) ApplyPodLevel(requests, pod.pod_level->requests);
  if (!options.exclude_overhead) Add(requests, pod.overhead);
  return requests;
}

ResourceList PodLimits(const PodResourcesInput& pod, PodResourcesOptions options) {
  ResourceList limits = AggregateContainerLimits(pod);
  // IsPodLevelResourcesSet: either list names a supported resource.
  if (PodLevelRequestsSet(pod) || PodLevelLimitsSet(pod)) {
    ApplyPodLevel(limits, pod.pod_level->limits);
  }
  if (!options.exclude_overhead) {
    for (const auto& [name, value] : pod.overhead) {
      auto it = limits.find(name);
      if (it != limits.end() && it->second != 0) it->second = SaturatingAdd(it->second, value);
    }
  }
  return limits;
}

// ComputePodQOS of pkg/apis/core/helper/qos: sums the positive cpu/memory requests and limits;
// Guaranteed needs every container (or the pod level) to limit both, and the sums to match.
QosClass ComputeQos(const PodResourcesInput& pod) {
  ResourceList requests;
  ResourceList limits;
  bool guaranteed = true;
  auto add_requests = [&](const ResourceList& list) {
    for (const auto& [name, value] : list) {
      if ((name == kCpu || name == kMemory) && value > 0)
        requests[name] = SaturatingAdd(requests[name], value);
    }
  };
  auto add_limits = [&](const ResourceList& list) {
    int limited = 0;  // how many of cpu and memory this list limits
    for (const auto& [name, value] : list) {
      if ((name == kCpu || name == kMemory) && value > 0) {
        limits[name] = SaturatingAdd(limits[name], value);
        ++limited;
      }
    }
    if (limited < 2) guaranteed = false;
  };
  if (PodLevelRequestsSet(pod) || PodLevelLimitsSet(pod)) {
    add_requests(pod.pod_level->requests);
    // Upstream looks at the pod-level limits only when the list is non-empty.
    if (!pod.pod_level->limits.empty()) add_limits(pod.pod_level->limits);
  } else {
    for (const ContainerResources& c : pod.containers) {
      add_requests(c.requests);
      add_limits(c.limits);
    }
  }
  if (requests.empty() && limits.empty()) return QosClass::kBestEffort;
  if (guaranteed) {
    for (const auto& [name, value] : requests) {
      auto it = limits.find(name);
      if (it == limits.end() || it->second != value) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size() == limits.size() ? QosClass::kGuaranteed
                                                        : QosClass::kBurstable;
}

}  // namespace podshim::cgroups
