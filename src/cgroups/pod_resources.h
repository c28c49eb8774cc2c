// The effective pod request and limit (KEP-753: init, sidecar and app containers in spec order,
// pod overhead, pod-level spec.resources of KEP-2837), API defaulting, and the QoS class, as
// component-helpers' PodRequests/PodLimits, SetDefaults_Pod and GetPodQOS compute them.
// Plain data in, plain data out; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/container_role.h"
#include "common/result.h"

namespace podshim::cgroups {

// Resource name -> canonical integer: "cpu" in millicores; "memory", "ephemeral-storage",
// "hugepages-<size>" in bytes; any other (extended) resource as its Value() count. A key that is
// present with 0 is "specified as zero", which upstream distinguishes from absent.
using ResourceList = std::map<std::string, int64_t>;

inline constexpr std::string_view kCpu = "cpu";
inline constexpr std::string_view kMemory = "memory";
inline constexpr std::string_view kHugePagesPrefix = "hugepages-";

using ContainerRole = ::podshim::ContainerRole;  // sidecar = init with restartPolicy Always

struct ContainerResources {
  std::string name;
  ContainerRole role = ContainerRole::kApp;
  ResourceList requests;
  ResourceList limits;
};

struct PodLevelResources {  // spec.resources
  ResourceList requests;
  ResourceList limits;
};

struct PodResourcesInput {
  // Spec order: every spec.initContainers entry (init or sidecar, interleaved as declared),
  // then every spec.containers entry (app).
  std::vector<ContainerResources> containers;
  ResourceList overhead;                       // spec.overhead
  std::optional<PodLevelResources> pod_level;  // spec.resources, when present
};

struct PodResourcesOptions {
  bool exclude_overhead = false;  // PodResourcesOptions.ExcludeOverhead
};

enum class QosClass { kGuaranteed, kBurstable, kBestEffort };
std::string_view QosClassName(QosClass qos);  // "Guaranteed", "Burstable", "BestEffort"

// SetDefaults_Pod, the resource part: every container resource with a limit but no request gets
// request = limit; then, when spec.resources is set, the pod-level defaults of KEP-2837
// (hugepage limits from containers, requests from the container aggregate or the pod limits,
// cpu/memory limits from containers when all of them set one). Call once on a parsed manifest,
// before anything else; the functions below do not default.
void ApplyApiDefaults(PodResourcesInput& pod);

// True for the resources spec.resources may set: cpu, memory and hugepages-<size>.
bool IsSupportedPodLevelResource(std::string_view name);
bool IsHugePageResource(std::string_view name);

// The init/sidecar/app aggregate of one list (requests or limits) per resource (SEMANTICS 1.2).
ResourceList AggregateContainerRequests(const PodResourcesInput& pod);
ResourceList AggregateContainerLimits(const PodResourcesInput& pod);

// PodRequests: aggregate, replaced per resource by pod-level requests, plus the overhead.
ResourceList PodRequests(const PodResourcesInput& pod, PodResourcesOptions options = {});
// PodLimits: aggregate, replaced by pod-level limits; overhead added to present non-zero limits.
ResourceList PodLimits(const PodResourcesInput& pod, PodResourcesOptions options = {});

// ComputePodQOS: only cpu and memory count; pod-level resources decide alone when set.
QosClass ComputeQos(const PodResourcesInput& pod);

}  // namespace podshim::cgroups
