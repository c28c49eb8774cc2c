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

// kubelet's getPhase counters over the pod's containers.
struct PhaseTally {
  int pending_regular_init = 0;
  int pending_sidecar = 0;
  int failed_initialization = 0;
  int running = 0;
  int waiting = 0;
  int stopped = 0;
  int succeeded = 0;
  bool any_app_started = false;
};

void CountInit(const ContainerSnapshot& c, PhaseTally& t) {
  switch (c.state.kind) {
    case Kind::kRunning:
      ++t.pending_regular_init;
      break;
    case Kind::kTerminated:
      if (c.state.exit_code.value_or(0) != 0) ++t.failed_initialization;
      break;
    case Kind::kWaiting:
      if (HasLastTermination(c)) {
        if (LastExitFailed(c)) ++t.failed_initialization;
      } else {
        ++t.pending_regular_init;
      }
      break;
  }
}

void CountSidecar(const ContainerSnapshot& c, PhaseTally& t) {
  switch (c.state.kind) {
    case Kind::kRunning:
      if (!c.started) ++t.pending_sidecar;
      ++t.running;
      break;
    case Kind::kTerminated:
      break;  // terminated sidecars are ignored
    case Kind::kWaiting:
      if (!HasLastTermination(c)) {
        ++t.pending_sidecar;
        ++t.waiting;
      }
      break;
  }
}

void CountApp(const ContainerSnapshot& c, PhaseTally& t) {
  switch (c.state.kind) {
    case Kind::kRunning:
      ++t.running;
      t.any_app_started = true;
      break;
    case Kind::kTerminated:
      ++t.stopped;
      if (c.state.exit_code.value_or(0) == 0) ++t.succeeded;
      t.any_app_started = true;
      break;
    case Kind::kWaiting:
      if (HasLastTermination(c)) {
        ++t.stopped;
        t.any_app_started = true;
      } else {
        ++t.waiting;
      }
      break;
  }
}

PodPhase PhaseOf(const PhaseTally& t, PodRestartPolicy policy, bool pod_is_terminal) {
  if (t.failed_initialization > 0 && policy == PodRestartPolicy::kNever) return PodPhase::kFailed;
  if (t.pending_regular_init > 0 || (t.pending_sidecar > 0 && !t.any_app_started) ||
      t.waiting > 0) {
    return PodPhase::kPending;
  }
  if (t.running > 0) return PodPhase::kRunning;
  if (t.stopped == 0) return PodPhase::kPending;
  if (pod_is_terminal) return t.stopped == t.succeeded ? PodPhase::kSucceeded : PodPhase::kFailed;
  if (policy == PodRestartPolicy::kAlways) return PodPhase::kRunning;  // all on their way back
  if (t.stopped == t.succeeded) return PodPhase::kSucceeded;
  if (policy == PodRestartPolicy::kNever) return PodPhase::kFailed;
  return PodPhase::kRunning;  // OnFailure: restarting the failed ones
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
  PhaseTally t;
  for (const ContainerSnapshot& c : containers) {
    switch (c.role) {
      case Role::kInit:
        CountInit(c, t);
        break;
      case Role::kSidecar:
        CountSidecar(c, t);
        break;
      case Role::kApp:
        CountApp(c, t);
        break;
    }
  }
  PodPhase phase = PhaseOf(t, policy, pod_is_terminal);
  if (pod_is_terminal && phase != PodPhase::kSucceeded && phase != PodPhase::kFailed) {
    phase = PodPhase::kFailed;
  }
  return phase;
}

}  // namespace podshim::shim
