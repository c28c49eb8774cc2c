// ContainerSnapshot: one container's status as the supervisor sees it, shaped like the
// Kubernetes ContainerStatus (state waiting/running/terminated, lastState, restartCount, started,
// ready). status.json and `ctl status` are written from it; the pod phase is computed from it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "shim/pod/pod_plan.h"

namespace podshim::shim {

using WallTime = std::chrono::system_clock::time_point;

struct StateSnapshot {
  enum class Kind { kWaiting, kRunning, kTerminated };
  Kind kind = Kind::kWaiting;
  // kWaiting: PodInitializing | ContainerCreating | CrashLoopBackOff;
  // kTerminated: Completed | Error | OOMKilled | StartError; kRunning: empty.
  std::string reason;
  std::string message;                  // StartError: why the start failed
  std::optional<int> exit_code;         // kTerminated (128+N after signal N; 128 for StartError)
  std::optional<int> signal;            // kTerminated by a signal
  std::optional<WallTime> started_at;   // kRunning, kTerminated (if it ever ran)
  std::optional<WallTime> finished_at;  // kTerminated
};

struct ContainerSnapshot {
  std::string name;
  Role role = Role::kApp;
  StateSnapshot state;
  std::optional<StateSnapshot> last_state;  // the previous instance's kTerminated state
  int restart_count = 0;
  // Running and (no startupProbe or it passed); SEMANTICS 0.2.
  bool started = false;
  // Sidecar / app: started and (no readinessProbe or it passes). Regular init: exited 0.
  bool ready = false;
  std::optional<pid_t> pid;  // while running
};

}  // namespace podshim::shim
