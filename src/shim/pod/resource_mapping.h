// Turns the manifest's resources (raw quantity text with manifest paths) into the cgroups
// module's plain input: quantities in canonical units, containers in spec order with their role,
// overhead and pod-level resources, then Kubernetes API defaulting. Keeps cgroups free of the
// manifest model (STYLE.md 5a).
#pragma once

#include <string>
#include <vector>

#include "cgroups/pod_resources.h"
#include "common/result.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim {

// The defaulted cgroups input for `spec` (cgroups::ApplyApiDefaults already applied). Every
// problem is reported, one per line, each naming its manifest path:
//   spec.containers[1].resources.limits.cpu: invalid quantity "1x"
//   spec.containers[0].resources.requests.memory: must be less than or equal to memory limit of
//   64Mi spec.overhead.hugepages-3000: resource "hugepages-3000" does not name a valid page size
Result<cgroups::PodResourcesInput> MapPodResources(const PodSpec& spec);

// Every problem of MapPodResources, as separate errors (empty when the resources are valid).
std::vector<Error> CheckPodResources(const PodSpec& spec);

}  // namespace podshim::shim
