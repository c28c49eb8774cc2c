// Checks a PodPlan; see pod_plan.h.
#include "shim/pod/pod_plan.h"

#include <set>

#include "common/quoted.h"

namespace podshim::shim {

Result<ValidPodPlan> ValidatePodPlan(PodPlan plan) {
  if (plan.pod_name.empty()) return Error::Invalid("pod plan: the pod has no name");
  if (plan.grace < std::chrono::seconds(0)) {
    return Error::Invalid("pod plan: grace period must not be negative, got " +
                          std::to_string(plan.grace.count()) + "s");
  }
  std::set<std::string, std::less<>> names;
  bool seen_app = false;
  for (size_t i = 0; i < plan.containers.size(); ++i) {
    const ContainerPlan& c = plan.containers[i];
    if (c.name.empty()) {
      return Error::Invalid("pod plan: container " + std::to_string(i) + " has no name");
    }
    if (!names.insert(c.name).second) {
      return Error::Invalid("pod plan: container name " + Quoted(c.name) + " is repeated");
    }
    if (c.role == Role::kApp) {
      seen_app = true;
    } else if (seen_app) {
      return Error::Invalid("pod plan: init container " + Quoted(c.name) +
                            " comes after an app container");
    }
    if (c.stop_signal <= 0) {
      return Error::Invalid("pod plan: stop signal of " + Quoted(c.name) + " is " +
                            std::to_string(c.stop_signal));
    }
  }
  if (!seen_app) return Error::Invalid("pod plan: the pod has no app container");
  return ValidPodPlan(std::move(plan));
}

}  // namespace podshim::shim
