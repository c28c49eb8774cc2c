// What the supervisor asks the shim to do, and the events it reports. The supervisor does no
// I/O: it queues these; the event loop carries them out in order (launch a container, send a
// signal, cgroup.kill, run a preStop hook, append an event to events.jsonl, finish the pod).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "shim/pod/container_snapshot.h"
#include "shim/pod/pod_phase.h"
#include "shim/pod/pod_plan.h"

namespace podshim::shim {

// Why the pod is being stopped: the TerminationStarted event's `reason`.
enum class TerminationReason {
  kSignal,     // the shim got SIGTERM/SIGINT
  kRequest,    // `ctl stop`
  kCompleted,  // Job completion: every app container exited 0 and none will restart
  kFailed,     // Job completion with a failed app, or a failed init container under Never
};
std::string_view TerminationReasonName(TerminationReason reason);  // "Signal", "Request", ...

// One field of an event: JSON null, bool, integer or string.
using EventValue = std::variant<std::nullptr_t, bool, int64_t, std::string>;
struct EventField {
  std::string key;
  EventValue value;
  bool operator==(const EventField&) const = default;
};

// An event of DESIGN.md's table. The writer adds `pod`; `time` is when the supervisor learnt
// that the thing happened. Container events carry `container` and `role`.
struct PodEvent {
  std::string type;  // "ContainerStarted", "ContainerExited", ...
  WallTime time;
  std::string container;     // empty for pod events
  std::optional<Role> role;  // set for container events
  std::vector<EventField> fields;

  // The value of field `key`, or nullptr.
  const EventValue* Field(std::string_view key) const;
};

// Start the container's process (a fresh instance; its logs go to <restart_count>.log). Answer
// with OnContainerStarted or OnStartFailed.
struct LaunchAction {
  std::string container;
  int restart_count = 0;
};
// Send `signal` to the container's main process (then emit SignalSent).
struct SignalAction {
  std::string container;
  int signal = 0;
};
// SIGKILL everything in the container: cgroup.kill where it has a cgroup (then emit SignalSent).
struct KillContainerAction {
  std::string container;
};
// Run the container's postStart hook (its process has just started); answer with
// OnPostStartFinished. The container does not count as started until then.
struct StartPostStartAction {
  std::string container;
};
// Run the container's preStop hook; answer with OnPreStopFinished. `grace` is the container's
// grace period: the hook's time limit (the supervisor moves on without it after that).
struct StartPreStopAction {
  std::string container;
  std::chrono::seconds grace{0};
};
struct EmitAction {
  PodEvent event;
};
// Every container has exited; nothing more will happen. The pod's final phase and what ended it
// (`run` exits 0 for Succeeded, 1 for Failed, 128+N when reason is kSignal).
struct PodFinishedAction {
  PodPhase phase = PodPhase::kFailed;
  TerminationReason reason = TerminationReason::kCompleted;
};

using SupervisorAction =
    std::variant<LaunchAction, SignalAction, KillContainerAction, StartPostStartAction,
                 StartPreStopAction, EmitAction, PodFinishedAction>;

// One line for logs and tests: "Launch web #0", "Signal proxy SIGTERM", "Kill proxy",
// "PostStart web", "PreStop web", "Emit ContainerExited web exitCode=1 signal=null reason=Error
// restartCount=0", "PodFinished Succeeded (Completed)".
std::string DescribeAction(const SupervisorAction& action);

}  // namespace podshim::shim
