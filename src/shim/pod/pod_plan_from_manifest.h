// Builds the supervisor's PodPlan from a parsed manifest: container order and roles, the pod's
// restartPolicy and grace period, and which containers have startup/readiness probes and
// postStart/preStop hooks. Pure: the supervisor never sees the manifest itself.
#pragma once

#include "shim/manifest/manifest.h"
#include "shim/pod/pod_plan.h"

namespace podshim::shim {

PodPlan BuildPodPlan(const Pod& pod);

}  // namespace podshim::shim
