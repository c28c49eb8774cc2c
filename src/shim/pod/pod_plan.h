// PodPlan: what the supervisor needs to know about a pod, and nothing more: the containers in
// spec order with their role (init / sidecar / app), the pod's restartPolicy and grace period.
// The shim builds it from the manifest; the supervisor never sees the manifest itself. Pure data.
#pragma once

#include <signal.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/container_role.h"
#include "common/result.h"

namespace podshim::shim {

// SEMANTICS 0.2: kInit = regular init container, kSidecar = init container with restartPolicy
// Always, kApp = entry of spec.containers.
using Role = ::podshim::ContainerRole;

// The pod's spec.restartPolicy (applies to app containers; sidecars always restart).
enum class RestartPolicy { kAlways, kOnFailure, kNever };
std::string_view RestartPolicyName(RestartPolicy policy);  // "Always", "OnFailure", "Never"

struct ContainerPlan {
  std::string name;
  Role role = Role::kApp;
  // With a startupProbe the container counts as started only once the probe passed
  // (Supervisor::OnStartupSucceeded); without one, once its process runs.
  bool has_startup_probe = false;
  // Without a readinessProbe a started container is ready; with one, once the probe says so.
  bool has_readiness_probe = false;
  // With a postStart hook the container counts as started only once the hook returned
  // (Supervisor::OnPostStartFinished); a failing hook kills the container.
  bool has_poststart = false;
  bool has_prestop = false;
  int stop_signal = SIGTERM;  // image STOPSIGNAL / lifecycle.stopSignal
};

struct PodPlan {
  std::string pod_name;
  RestartPolicy restart_policy = RestartPolicy::kAlways;
  std::chrono::seconds grace{30};  // terminationGracePeriodSeconds
  // Spec order: every init container (regular and sidecar) first, then the app containers.
  std::vector<ContainerPlan> containers;
};

// Checks what the supervisor relies on: a pod name, unique non-empty container names, init
// containers before app containers, at least one app container, grace >= 0, stop signals > 0.
// Errors are kInvalidSpec naming the offending container.
Status ValidatePodPlan(const PodPlan& plan);

}  // namespace podshim::shim
