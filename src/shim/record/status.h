// status.json: the pod's status shaped like the Kubernetes PodStatus (phase, ready, qosClass,
// cgroup, initContainerStatuses, containerStatuses with state / lastState / ready / started /
// restartCount / pid), built from the supervisor's PodSnapshot and replaced atomically
// (temporary file, fsync, rename) on every change, so a reader never sees a torn file.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"
#include "shim/pod/supervisor.h"

namespace podshim::shim {

// What the status adds to the supervisor's view: fixed when the pod starts.
struct PodStatusContext {
  std::string qos_class;  // "Guaranteed" | "Burstable" | "BestEffort"
  std::string cgroup;     // absolute path of the pod cgroup; empty without one
};

// The status as pretty-printed JSON (ends with a newline). Init containers (regular and
// sidecar) go to initContainerStatuses, app containers to containerStatuses, in spec order.
std::string PodStatusJson(const PodSnapshot& pod, const PodStatusContext& context);

// Writes PodStatusJson to `path` atomically.
Status WritePodStatus(const std::filesystem::path& path, const PodSnapshot& pod,
                      const PodStatusContext& context);

}  // namespace podshim::shim
