// ProcessLauncher: the seam between "what to run" (a LaunchPlan) and starting it for real.
// LinuxLauncher (linux_launcher.h) uses clone3; tests of the supervisor use a fake that records
// plans (tests/fixtures/fakes/fake_launcher.h).
#pragma once

#include "common/process_handle.h"
#include "common/result.h"
#include "oci/launch_plan.h"

namespace podshim::oci {

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // Starts the plan's process. Returns once it is set up: at the start gate (StartGate::kFifo)
  // or after a successful execve (StartGate::kNone). On failure the child is killed and reaped
  // and the error reads `container "web": pivot_root: Invalid argument`.
  virtual Result<ProcessHandle> Launch(const LaunchPlan& plan) = 0;
};

}  // namespace podshim::oci
