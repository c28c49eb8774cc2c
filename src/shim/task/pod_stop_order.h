// PodStopOrder: which of a grouped shim's tasks stop in which order when the shim itself is told
// to stop its pod (SIGTERM), read from the annotations containerd's CRI plugin puts in each
// container's spec: app containers first, then sidecars in reverse start order
// (signals::TerminationPlan), and the pod sandbox last. Pure: no I/O.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "signals/termination_plan.h"

namespace podshim::shim::task {

// CRI's annotations: "sandbox" or "container", and the container's name in the pod spec.
inline constexpr char kCriContainerType[] = "io.kubernetes.cri.container-type";
inline constexpr char kCriContainerName[] = "io.kubernetes.cri.container-name";
// Pod annotations (copied into every container by the runtime handler's
// `pod_annotations = ["podshim.io/*"]`): the sidecars' names in spec order, comma-separated, and
// the pod's terminationGracePeriodSeconds.
inline constexpr char kSidecarsAnnotation[] = "podshim.io/sidecars";
inline constexpr char kGraceAnnotation[] = "podshim.io/termination-grace-period-seconds";
// Kubernetes' default terminationGracePeriodSeconds.
inline constexpr std::chrono::seconds kDefaultPodGrace{30};

// One task of the shim, in creation order.
struct PodMember {
  std::string id;
  std::map<std::string, std::string> annotations;
  bool running = false;  // started and not exited
};

struct PodStopOrder {
  // The plan's containers (name = task id), sidecars in spec order first, then apps; every task
  // that is not a sandbox, running or not (not running ones count as terminated).
  std::vector<signals::TerminationContainer> containers;
  // The sandboxes (their pause process holds the pod's namespaces): killed once every container
  // has exited.
  std::vector<std::string> last;
  std::chrono::seconds grace = kDefaultPodGrace;
  // Annotations that were ignored, each naming the annotation and what is wrong with it.
  std::vector<std::string> warnings;
};

PodStopOrder PodStopOrderOf(const std::vector<PodMember>& members);

}  // namespace podshim::shim::task
