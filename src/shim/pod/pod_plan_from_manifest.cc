#include "shim/pod/pod_plan_from_manifest.h"

namespace podshim::shim {
namespace {

RestartPolicy ToRestartPolicy(PodRestartPolicy p) {
  switch (p) {
    case PodRestartPolicy::kAlways:
      return RestartPolicy::kAlways;
    case PodRestartPolicy::kOnFailure:
      return RestartPolicy::kOnFailure;
    case PodRestartPolicy::kNever:
      return RestartPolicy::kNever;
  }
  return RestartPolicy::kAlways;
}

ContainerPlan ToContainerPlan(const Container& c) {
  ContainerPlan cp;
  cp.name = c.name;
  cp.role = c.role();
  cp.has_startup_probe = c.startup_probe.has_value();
  cp.has_readiness_probe = c.readiness_probe.has_value();
  cp.has_poststart = c.lifecycle.post_start.has_value();
  cp.has_prestop = c.lifecycle.pre_stop.has_value();
  return cp;
}

}  // namespace

PodPlan BuildPodPlan(const Pod& pod) {
  PodPlan plan;
  plan.pod_name = pod.metadata.name;
  plan.restart_policy = ToRestartPolicy(pod.spec.restart_policy);
  plan.grace = pod.spec.termination_grace_period;
  for (const Container& c : pod.spec.init_containers) plan.containers.push_back(ToContainerPlan(c));
  for (const Container& c : pod.spec.containers) plan.containers.push_back(ToContainerPlan(c));
  return plan;
}

}  // namespace podshim::shim
