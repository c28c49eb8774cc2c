// Running a pod, shared by `podshim run` (foreground) and `podshim start` (detached): CheckPod
// reads and checks everything first without creating anything (bad input); RunCheckedPod then
// creates the state dir, the pod cgroup and sandbox, runs the EventLoop until the pod finished
// and removes the cgroups, mounts and volume directories afterwards.
#pragma once

#include <filesystem>
#include <functional>

#include "cgroups/cgroup_values.h"
#include "common/result.h"
#include "shim/manifest/manifest.h"
#include "shim/pod/pod_plan.h"
#include "shim/pod/restart_backoff.h"
#include "shim/run/pod_options.h"

namespace podshim::shim {

// A pod whose manifest, resources, plan and bundles passed every check.
struct CheckedPod {
  Pod pod;
  cgroups::PodCgroupValues values;
  BackoffOptions backoff;
  PodPaths paths;
  ValidPodPlan plan;  // the supervisor's plan, built and validated once, here
};

// Loads the manifest and checks it, its resources, its plan and every container's bundle and
// launch plan. Creates nothing; every error is bad input (exit 2) and says what is wrong.
Result<CheckedPod> CheckPod(const PodOptions& o);

// Where `podshim start` steps in while the pod is set up.
struct PodRunHooks {
  // Called once the state dir and the log dir exist, before anything else is created. An error
  // ends the run: the state dir is removed again if this run created it.
  std::function<Status(const std::filesystem::path& state_dir)> on_state_dir;
  // Called once the control socket (<state-dir>/podshim.sock) listens, before the pod starts.
  std::function<void()> on_listening;
  // The socket to this shim's pod keeper (pod_keeper.h; `start` has one), -1: none. Borrowed.
  int keeper_fd = -1;
};

// Sets up and runs the checked pod; returns `podshim run`'s exit status for the outcome (0
// Succeeded, 1 Failed, 128+N after signal N). SIGTERM and SIGINT are blocked first (see
// stop_signals.h); the state dir's lock is taken (kConflict while another shim holds it) and a
// dead shim's pod is stopped and recorded (dead_shim.h) before anything else. An error means the
// host refused something (exit 1). An error before the control socket listened leaves nothing
// behind: no cgroup, no mount, no state dir this run created; afterwards the state dir keeps
// events, status and logs.
Result<int> RunCheckedPod(const PodOptions& o, const CheckedPod& checked,
                          const PodRunHooks& hooks = {});

}  // namespace podshim::shim
