// Builds the supervisor's PodPlan from a parsed manifest: container order and roles, the pod's
// restartPolicy and grace period, which containers have startup/readiness probes and
// postStart/preStop hooks, and each one's stop signal as its bundle gives it. Pure: the
// supervisor never sees the manifest itself.
#pragma once

#include "shim/manifest/bundle_check.h"
#include "shim/manifest/manifest.h"
#include "shim/pod/pod_plan.h"

namespace podshim::shim {

// `stop_signals` as CheckBundles gives them; a container missing there gets SIGTERM.
PodPlan BuildPodPlan(const Pod& pod, const StopSignals& stop_signals = {});

}  // namespace podshim::shim
