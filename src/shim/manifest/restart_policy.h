// The pod's spec.restartPolicy: the one enum for it, read from the manifest and used as is by
// the supervisor's plan (shim/pod/pod_plan.h) and the pod phase. It applies to app containers;
// sidecars always restart.
#pragma once

#include <string_view>

namespace podshim::shim {

enum class PodRestartPolicy { kAlways, kOnFailure, kNever };

// "Always", "OnFailure", "Never".
constexpr std::string_view PodRestartPolicyName(PodRestartPolicy policy) {
  switch (policy) {
    case PodRestartPolicy::kAlways:
      return "Always";
    case PodRestartPolicy::kOnFailure:
      return "OnFailure";
    case PodRestartPolicy::kNever:
      return "Never";
  }
  return "unknown";
}

}  // namespace podshim::shim
