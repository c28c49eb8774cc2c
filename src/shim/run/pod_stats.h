// The control API's `stats`: the counters of the pod cgroup and of every container's leaf
// (cpu usage, memory.current, pids.current, oom kills) plus each container's restartCount, read
// when asked. A counter whose controller or cgroup is not there is left empty (null on the wire).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "cgroups/manager.h"
#include "shim/control/control_protocol.h"
#include "shim/pod/supervisor.h"

namespace podshim::shim {

// `cgroups` may be nullptr (a pod without cgroups: every counter is empty). `leaves` holds the
// leaf of each container's current instance (a new one per start, removed after its exit).
control::StatsResult CollectPodStats(const PodSnapshot& pod, const cgroups::CgroupManager* cgroups,
                                     const std::optional<cgroups::CgroupPath>& pod_cgroup,
                                     const std::map<std::string, cgroups::CgroupPath>& leaves);

}  // namespace podshim::shim
