// PodPlan: what the supervisor needs to know about a pod, and nothing more: the containers in
// spec order with their role (init / sidecar / app) and stop signal, the pod's restartPolicy and
// grace period. The shim builds it from the manifest and the bundles (pod_plan_from_manifest.h);
// the supervisor never sees the manifest itself. Pure data.
#pragma once

#include <signal.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/container_role.h"
#include "common/result.h"
#include "shim/manifest/restart_policy.h"

namespace podshim::shim {

// SEMANTICS 0.2: kInit = regular init container, kSidecar = init container with restartPolicy
// Always, kApp = entry of spec.containers.
using Role = ::podshim::ContainerRole;

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
  // The signal that asks the container to stop: the image's STOPSIGNAL as the bundle carries it
  // (annotation org.opencontainers.image.stopSignal), else SIGTERM.
  int stop_signal = SIGTERM;
};

struct PodPlan {
  std::string pod_name;
  PodRestartPolicy restart_policy = PodRestartPolicy::kAlways;  // spec.restartPolicy
  std::chrono::seconds grace{30};                               // terminationGracePeriodSeconds
  // Spec order: every init container (regular and sidecar) first, then the app containers.
  std::vector<ContainerPlan> containers;
};

// A PodPlan that passed ValidatePodPlan. Only ValidatePodPlan makes one, so whoever holds one
// (CheckPod's result, the supervisor) need not check it again.
class ValidPodPlan {
 public:
  const PodPlan& get() const { return plan_; }

 private:
  friend Result<ValidPodPlan> ValidatePodPlan(PodPlan plan);
  explicit ValidPodPlan(PodPlan plan) : plan_(std::move(plan)) {}

  PodPlan plan_;
};

// Checks what the supervisor relies on: a pod name, unique non-empty container names, init
// containers before app containers, at least one app container, grace >= 0, stop signals > 0.
// Errors are kInvalidSpec naming the offending container.
Result<ValidPodPlan> ValidatePodPlan(PodPlan plan);

}  // namespace podshim::shim
