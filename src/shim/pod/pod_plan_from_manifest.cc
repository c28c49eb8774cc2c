// Manifest -> PodPlan; see pod_plan_from_manifest.h.
#include "shim/pod/pod_plan_from_manifest.h"

namespace podshim::shim {
namespace {

ContainerPlan ToContainerPlan(const Container& c, const StopSignals& stop_signals) {
  ContainerPlan cp;
  cp.name = c.name;
  cp.role = c.role();
  cp.has_startup_probe = c.startup_probe.has_value();
  cp.has_readiness_probe = c.readiness_probe.has_value();
  cp.has_poststart = c.lifecycle.post_start.has_value();
  cp.has_prestop = c.lifecycle.pre_stop.has_value();
  if (auto it = stop_signals.find(c.name); it != stop_signals.end()) cp.stop_signal = it->second;
  return cp;
}

}  // namespace

PodPlan BuildPodPlan(const Pod& pod, const StopSignals& stop_signals) {
  PodPlan plan;
  plan.pod_name = pod.metadata.name;
  plan.restart_policy = pod.spec.restart_policy;
  plan.grace = pod.spec.termination_grace_period;
  for (const auto* list : {&pod.spec.init_containers, &pod.spec.containers}) {
    for (const Container& c : *list) plan.containers.push_back(ToContainerPlan(c, stop_signals));
  }
  return plan;
}

}  // namespace podshim::shim
