// Probe scheduling (SEMANTICS 5, kubelet pkg/kubelet/prober/worker.go) as a pure state machine:
// one ProbeSet per container holds its startup, readiness and liveness workers, counts results
// against the thresholds and says which probe to run when. No I/O: the event loop runs the probes
// (probe_runner.h, or an exec in the container) and feeds the results back; time comes from a
// Clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim {

// A worker's stored result (kubelet results.Result). Initial values: readiness kFailure,
// liveness kSuccess, startup kUnknown.
enum class ProbeResult { kUnknown, kSuccess, kFailure };
std::string_view ProbeResultName(ProbeResult r);  // "Unknown", "Success", "Failure"

// One probe to run now. Answer with ProbeSet::OnProbeResult(kind, run_id, ...); results whose
// run_id is not the one in flight (an old container instance, a stopped worker) are ignored.
struct ProbeRun {
  ProbeKind kind;
  std::uint64_t run_id = 0;
  Probe probe;  // a copy: handler and timeout for the runner
};

// What a result (or a container event) changed; the shim turns these into events and supervisor
// calls.
enum class ProbeTransitionKind {
  kProbeFailed,     // one run failed: event ProbeFailed{probe, message} (counted, maybe no verdict)
  kStarted,         // the container counts as started (startup probe passed, or there is none):
                    // event ContainerStartupSucceeded, Supervisor::OnStartupSucceeded
  kReady,           // the container became ready: running, started, readiness passed or none
  kNotReady,        // the container stopped being ready
  kLivenessFailed,  // failureThreshold reached: kill the container (reason LivenessProbe)
  kStartupFailed,   // failureThreshold reached: kill the container (reason StartupProbe)
};
std::string_view ProbeTransitionKindName(ProbeTransitionKind k);

struct ProbeTransition {
  ProbeTransitionKind kind;
  ProbeKind probe = ProbeKind::kReadiness;  // the probe responsible (kReady/kNotReady: readiness)
  std::string message;                      // kProbeFailed and the kill kinds: the last failure
  // Kill kinds: the probe's terminationGracePeriodSeconds when set; nullopt means the pod's grace.
  std::optional<std::chrono::seconds> grace;

  bool operator==(const ProbeTransition&) const = default;
};

// The three workers of one container. Scheduling rules (podshim's reading of worker.go):
//  - OnContainerStarted() begins a container instance at clock.Now() = S. A worker's first run is
//    due at S + initialDelaySeconds, the next ones every periodSeconds after the previous due
//    time (a fixed ticker; ticks missed while a run was in flight collapse into one run as soon
//    as the result arrives). A run is never started while the previous run of the same kind is
//    in flight, so a slow probe (timeoutSeconds > periodSeconds) does not overlap itself.
//  - The startup probe gates the others: until it passes, readiness and liveness do not run.
//    When it passes the startup worker stops and the other two become due at
//    max(now, S + their initialDelaySeconds). Without a startup probe the container is started
//    at once.
//  - A verdict needs failureThreshold consecutive failures or successThreshold consecutive
//    successes. A liveness or startup failure verdict puts that worker on hold (no more runs)
//    until the next OnContainerStarted (a new container instance).
//  - OnTerminationStarted(): liveness and startup stop for good (liveness reads kSuccess, as
//    kubelet records); readiness keeps running. podshim does not mark an unstarted container
//    started at that point (kubelet does, by recording startup Success), so a sidecar that never
//    passed its startup probe stays unstarted and does not delay the termination order.
//  - OnContainerExited(): every worker stops until the next OnContainerStarted.
class ProbeSet {
 public:
  using TimePoint = Clock::TimePoint;

  // The clock must outlive the set. Probes that are nullopt are absent.
  ProbeSet(const Clock& clock, std::optional<Probe> startup, std::optional<Probe> readiness,
           std::optional<Probe> liveness);
  // The container's startupProbe, readinessProbe and livenessProbe.
  static ProbeSet ForContainer(const Clock& clock, const Container& container);

  // A new container instance is running (also after a restart): results back to their initial
  // values, holds cleared, runs in flight forgotten. Returns kStarted (and kReady when there is
  // no readiness probe) at once when there is no startup probe; a kNotReady when the previous
  // instance was still marked ready.
  std::vector<ProbeTransition> OnContainerStarted();
  // The container exited: nothing runs until OnContainerStarted; kNotReady if it was ready.
  std::vector<ProbeTransition> OnContainerExited();
  // The pod is terminating: liveness and startup stop; readiness keeps running.
  void OnTerminationStarted();

  // The probes due at `now` (normally clock.Now()), each marked in flight. Call when the timer
  // armed at NextDeadline() fires; calling early returns nothing.
  std::vector<ProbeRun> DueProbes(TimePoint now);
  // The result of a run returned by DueProbes. `message` says why it failed (ignored on
  // success). Stale results return nothing.
  std::vector<ProbeTransition> OnProbeResult(ProbeKind kind, std::uint64_t run_id, bool success,
                                             std::string_view message);

  // The earliest due time of a worker that is active and not in flight; nullopt when nothing is
  // scheduled (only events can move the set on).
  std::optional<TimePoint> NextDeadline() const;

  bool has_probe(ProbeKind kind) const;
  ProbeResult result(ProbeKind kind) const;  // the worker's stored result
  bool in_flight(ProbeKind kind) const;
  bool on_hold(ProbeKind kind) const;
  bool running() const { return running_; }
  bool started() const;  // running and the startup probe passed (or there is none)
  bool ready() const;    // started and the readiness probe passed (or there is none)

 private:
  struct Worker {
    std::optional<Probe> probe;
    ProbeKind kind;
    ProbeResult initial;
    ProbeResult result = ProbeResult::kUnknown;
    ProbeResult last = ProbeResult::kUnknown;  // the last raw result, for consecutive counting
    int run = 0;                               // consecutive raw results equal to `last`
    bool active = false;                       // scheduled (runs when due)
    bool on_hold = false;
    bool stopped_for_termination = false;
    std::optional<std::uint64_t> in_flight;  // run id of the run being carried out
    TimePoint due{};
  };

  Worker& W(ProbeKind kind);
  const Worker& W(ProbeKind kind) const;
  void Activate(Worker& w, TimePoint at);
  void Reset(Worker& w);
  void PushReadinessChange(bool was_ready, std::vector<ProbeTransition>& out) const;

  const Clock* clock_;
  Worker startup_;
  Worker readiness_;
  Worker liveness_;
  bool running_ = false;
  bool terminating_ = false;
  TimePoint started_at_{};
  std::uint64_t next_run_id_ = 1;
};

}  // namespace podshim::shim
