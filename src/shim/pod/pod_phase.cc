#include "shim/pod/pod_phase.h"

namespace podshim::shim {
namespace {

using Kind = StateSnapshot::Kind;

bool LastExitFailed(const ContainerSnapshot& c) {
  return c.last_state && c.last_state->kind == Kind::kTerminated &&
         c.last_state->exit_code.value_or(0) != 0;
}

bool HasLastTermination(const ContainerSnapshot& c) {
  return c.last_state && c.last_state->kind == Kind::kTerminated;
}

}  // namespace

std::string_view PodPhaseName(PodPhase phase) {
  switch (phase) {
    case PodPhase::kPending:
      return "Pending";
    case PodPhase::kRunning:
      return "Running";
    case PodPhase::kSucceeded:
      return "Succeeded";
    case PodPhase::kFailed:
      return "Failed";
  }
  return "Unknown";
}

PodPhase ComputePodPhase(PodRestartPolicy policy, std::span<const ContainerSnapshot> containers,
                         bool pod_is_terminal) {
  int pending_regular_init = 0;
  int pending_sidecar = 0;
  int failed_initialization = 0;
  int running = 0;
  int waiting = 0;
  int stopped = 0;
  int succeeded = 0;
  bool any_app_started = false;

  for (const ContainerSnapshot& c : containers) {
    switch (c.role) {
      case Role::kInit:
        switch (c.state.kind) {
          case Kind::kRunning:
            ++pending_regular_init;
            break;
          case Kind::kTerminated:
            if (c.state.exit_code.value_or(0) != 0) ++failed_initialization;
            break;
          case Kind::kWaiting:
            if (HasLastTermination(c)) {
              if (LastExitFailed(c)) ++failed_initialization;
            } else {
              ++pending_regular_init;
            }
            break;
        }
        break;
      case Role::kSidecar:
        switch (c.state.kind) {
          case Kind::kRunning:
            if (!c.started) ++pending_sidecar;
            ++running;
            break;
          case Kind::kTerminated:
            break;  // terminated sidecars are ignored
          case Kind::kWaiting:
            if (!HasLastTermination(c)) {
              ++pending_sidecar;
              ++waiting;
            }
            break;
        }
        break;
      case Role::kApp:
        switch (c.state.kind) {
          case Kind::kRunning:
            ++running;
            any_app_started = true;
            break;
          case Kind::kTerminated:
            ++stopped;
            if (c.state.exit_code.value_or(0) == 0) ++succeeded;
            any_app_started = true;
            break;
          case Kind::kWaiting:
            if (HasLastTermination(c)) {
              ++stopped;
              any_app_started = true;
            } else {
              ++waiting;
            }
            break;
        }
        break;
    }
  }

  PodPhase phase = PodPhase::kPending;
  if (failed_initialization > 0 && policy == PodRestartPolicy::kNever) {
    phase = PodPhase::kFailed;
  } else if (pending_regular_init > 0 || (pending_sidecar > 0 && !any_app_started) || waiting > 0) {
    phase = PodPhase::kPending;
  } else if (running > 0) {
    phase = PodPhase::kRunning;
  } else if (stopped > 0) {
    if (pod_is_terminal) {
      phase = stopped == succeeded ? PodPhase::kSucceeded : PodPhase::kFailed;
    } else if (policy == PodRestartPolicy::kAlways) {
      phase = PodPhase::kRunning;  // every container is on its way back
    } else if (stopped == succeeded) {
      phase = PodPhase::kSucceeded;
    } else if (policy == PodRestartPolicy::kNever) {
      phase = PodPhase::kFailed;
    } else {
      phase = PodPhase::kRunning;  // OnFailure: restarting the failed ones
    }
  }
  if (pod_is_terminal && phase != PodPhase::kSucceeded && phase != PodPhase::kFailed) {
    phase = PodPhase::kFailed;
  }
  return phase;
}

}  // namespace podshim::shim
