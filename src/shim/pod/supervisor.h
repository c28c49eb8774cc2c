// Supervisor: the pod's lifecycle as a state machine with no I/O (SEMANTICS 3, 4, 6; STYLE 5c).
// The event loop reports what happened (a container runs, exited, passed its startup probe, a
// preStop hook ended, a stop request, a deadline) and carries out the queued actions: launch,
// signal, cgroup.kill, preStop, emit an event, finish. Time comes from a Clock; the loop re-arms
// one timer at NextDeadline(). Termination is driven by signals::TerminationPlan.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "shim/pod/container_snapshot.h"
#include "shim/pod/pod_phase.h"
#include "shim/pod/pod_plan.h"
#include "shim/pod/restart_backoff.h"
#include "shim/pod/supervisor_action.h"
#include "signals/termination_plan.h"

namespace podshim::shim {

struct SupervisorOptions {
  BackoffOptions backoff;
};

// How a container's main process ended, as the exit record holds it.
struct ContainerExit {
  int exit_code = 0;          // 128+N after signal N
  std::optional<int> signal;  // the signal that killed it
  bool oom = false;           // the kernel OOM-killed it (memory.events oom_kill): OOMKilled
  // It ended while no shim watched it (a recovered shim found it gone, or it was no child of
  // the shim that saw it end): reason ContainerStatusUnknown, exitCode null in the status and
  // the event (never a made-up code); it restarts as a failed container (137, as kubelet) would.
  bool unknown = false;

  static ContainerExit Code(int code) { return {code, std::nullopt, false, false}; }
  static ContainerExit Signalled(int sig) { return {128 + sig, sig, false, false}; }
  static ContainerExit Unknown() { return {kUnknownExitCode, std::nullopt, false, true}; }
  static constexpr int kUnknownExitCode = 137;
  bool operator==(const ContainerExit&) const = default;
};

struct PodSnapshot {
  std::string pod_name;
  PodPhase phase = PodPhase::kPending;
  // Every regular init container exited 0 and every sidecar started (SEMANTICS 3.1 rule 7);
  // stays true once the app containers were launched.
  bool initialized = false;
  bool ready = false;  // every sidecar and app container is ready (SEMANTICS 3.3)
  bool terminating = false;
  bool finished = false;
  std::vector<ContainerSnapshot> containers;  // spec order: init containers, then apps
};

class Supervisor {
 public:
  using TimePoint = Clock::TimePoint;

  // Validates the plan (ValidatePodPlan), then as the constructor.
  static Result<Supervisor> Create(PodPlan plan, const Clock& clock,
                                   SupervisorOptions options = {});
  // Over a plan validated already (CheckPod's). The clock must outlive the supervisor.
  Supervisor(ValidPodPlan plan, const Clock& clock, SupervisorOptions options = {});

  // Begins the pod: launches the first init container, or every app container when there is
  // none. kConflict when called twice. (The shim emits PodStarted itself, before this.)
  Status Start();

  // Events from the event loop. Each queues actions; kNotFound for an unknown container,
  // kConflict for an event that cannot happen in the container's state (a bug in the caller).
  //
  // The container's process runs (answer to a LaunchAction). Without a startupProbe or a
  // postStart hook the container also counts as started now; with a postStart hook a
  // StartPostStartAction follows.
  Status OnContainerStarted(std::string_view name, pid_t pid);
  // The launch failed: recorded like an exit with code 128, reason StartError (as containerd
  // reports it), event ContainerStartFailed; the restart rules apply as for a failed exit.
  Status OnStartFailed(std::string_view name, std::string_view message);
  // The container's main process exited (accepted while launching too: it died before the shim
  // could report it running).
  Status OnContainerExited(std::string_view name, ContainerExit exit);
  // The startup probe passed. Stale results (the container is no longer running, or has no
  // startupProbe, or already started) are ignored.
  Status OnStartupSucceeded(std::string_view name);
  // The readiness probe's result changed. Stale results are ignored.
  Status OnReadinessChanged(std::string_view name, bool ready);
  // The postStart hook of a StartPostStartAction returned. Success: the container counts as
  // started once its startup probe passed too. Failure (non-zero exit, HTTP error, the hook could
  // not run): the container is stopped as for a failed liveness probe, with the pod's grace
  // (kubelet: FailedPostStartHook), and the restart rules apply. Stale results are ignored.
  Status OnPostStartFinished(std::string_view name, bool success);
  // A liveness or startup probe reached its failureThreshold: the container is stopped the way
  // kubelet's killContainer does it (preStop hook, stop signal, SIGKILL when `grace`, or the
  // pod's grace when nullopt, runs out; SIGKILL at least 2 s after the signal), then restarted
  // per the restart rules (sidecars always). Under restartPolicy Never, killing the last app
  // container that could still run ends the pod at once (kubelet's KillPod): the pod terminates
  // while that app finishes its own stop. Ignored while the pod terminates, for a container
  // that is not running, or one already being stopped.
  Status OnProbeKill(std::string_view name, std::optional<std::chrono::seconds> grace);
  // `ctl restart`: a running sidecar or app container is stopped (as OnProbeKill, with the pod's
  // grace) and launched again as soon as it exited, whatever the restartPolicy and without
  // back-off; one waiting in back-off or exited for good is launched now. Its restartCount grows.
  // kConflict while the pod terminates, for a regular init container, and for a container that
  // was never started or is being launched.
  Status OnRestartRequest(std::string_view name);
  // A preStop hook started by a StartPreStopAction returned (or failed: the exit code of a hook
  // does not matter to the termination).
  Status OnPreStopFinished(std::string_view name);
  // Stop the pod gracefully: TerminationStarted{reason, gracePeriodSeconds}, then the
  // termination plan. `grace` replaces the pod's terminationGracePeriodSeconds; 0 means kill
  // everything now (SIGKILL, no hooks). While terminating, only a grace of 0 has an effect (the
  // shim's second SIGTERM: kill now); after the pod finished, nothing has.
  void OnStopRequest(TerminationReason reason, std::optional<std::chrono::seconds> grace = {});
  // The timer armed at NextDeadline() fired (early calls are harmless).
  void OnDeadline();

  // The queued actions, oldest first; the queue is then empty.
  std::vector<SupervisorAction> TakeActions();
  // When OnDeadline must be called next (a restart after back-off, a termination deadline);
  // nullopt when only events can move the pod on.
  std::optional<TimePoint> NextDeadline() const;

  PodPhase Phase() const;
  PodSnapshot Snapshot() const;
  // For a shim taking the pod over from a dead one: the containers whose launch was asked for
  // and not answered yet, and the running ones whose postStart hook has not returned.
  std::vector<std::string> Launching() const;
  std::vector<std::string> AwaitingPostStart() const;
  bool Terminating() const { return terminating_; }
  // The grace period the termination runs with (valid once Terminating()).
  std::chrono::seconds TerminationGrace() const { return termination_grace_; }
  std::chrono::seconds PodGrace() const { return plan_.grace; }
  bool Finished() const { return finished_; }

 private:
  enum class Stage {
    kPending,    // never launched
    kLaunching,  // LaunchAction queued, waiting for OnContainerStarted / OnStartFailed
    kRunning,
    kBackOff,  // exited; restart due at restart_at
    kExited,   // exited; will not be restarted (or a regular init that completed)
  };
  struct Container {
    ContainerPlan plan;
    Stage stage = Stage::kPending;
    RestartBackoff backoff;
    TimePoint restart_at{};
    bool ever_launched = false;
    bool started_once = false;  // started at least once (gates the next init container)
    bool readiness_ok = false;  // last readiness probe result
    // The current instance: its startup probe passed / its postStart hook has not returned yet.
    bool startup_passed = false;
    bool poststart_pending = false;
    bool restart_requested = false;  // relaunch at once when it exits (OnRestartRequest)
    // A stop of this one container (probe failure, failed postStart, restart request) under way.
    // An app stopped for good keeps it when the pod terminates (the pod's plan then only waits
    // for its exit); any other is taken over by the pod's plan.
    std::optional<signals::TerminationPlan> stop;
    std::chrono::seconds stop_grace{0};
    ContainerSnapshot snap;
    std::optional<StateSnapshot> saved_last_state;  // last_state before entering back-off
  };

  Result<Container*> Find(std::string_view name);
  void Sync();
  void MaybeCompleteJob();
  void Launch(Container& c);
  void MarkStarted(Container& c);
  void MaybeMarkStarted(Container& c);
  void StopContainer(Container& c, std::optional<std::chrono::seconds> grace);
  void RecordExit(Container& c, const ContainerExit& exit, std::string_view start_error);
  bool ShouldRestart(const Container& c, int exit_code) const;
  bool StoppingForGood(const Container& c) const;
  void BeginTermination(TerminationReason reason, std::chrono::seconds grace, bool kill_now);
  void KillNow();
  void TakePlanActions(std::vector<signals::TerminationAction> actions, std::chrono::seconds grace);
  void TakePodPlanActions(std::vector<signals::TerminationAction> actions);
  void MaybeFinish();
  void UpdateReadiness(Container& c);
  void Emit(std::string type, const Container* c, std::vector<EventField> fields = {});
  std::vector<ContainerSnapshot> ContainerSnapshots() const;

  PodPlan plan_;
  const Clock* clock_;
  SupervisorOptions options_;
  std::vector<Container> containers_;
  std::vector<SupervisorAction> actions_;
  bool started_ = false;
  bool initialized_ = false;
  bool pod_ready_ = false;
  bool terminating_ = false;
  bool killed_now_ = false;
  bool finished_ = false;
  TerminationReason termination_reason_ = TerminationReason::kCompleted;
  std::chrono::seconds termination_grace_{0};
  std::optional<signals::TerminationPlan> termination_;
};

}  // namespace podshim::shim
