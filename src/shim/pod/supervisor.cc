#include "shim/pod/supervisor.h"

#include <algorithm>
#include <utility>

#include "common/quoted.h"
#include "signals/signal_names.h"

namespace podshim::shim {
namespace {

using Kind = StateSnapshot::Kind;

constexpr int kStartErrorExitCode = 128;  // containerd's exit code for a container that never ran

StateSnapshot Waiting(std::string reason) {
  StateSnapshot s;
  s.kind = Kind::kWaiting;
  s.reason = std::move(reason);
  return s;
}

EventField Int(std::string key, int64_t v) { return {std::move(key), v}; }
EventField Str(std::string key, std::string_view v) { return {std::move(key), std::string(v)}; }

}  // namespace

Result<Supervisor> Supervisor::Create(PodPlan plan, const Clock& clock, SupervisorOptions options) {
  ValidPodPlan valid = PODSHIM_TRY(ValidatePodPlan(std::move(plan)));
  return Supervisor(std::move(valid), clock, options);
}

Supervisor::Supervisor(ValidPodPlan plan, const Clock& clock, SupervisorOptions options)
    : plan_(plan.get()), clock_(&clock), options_(options) {
  containers_.reserve(plan_.containers.size());
  for (const ContainerPlan& p : plan_.containers) {
    Container c;
    c.plan = p;
    c.backoff = RestartBackoff(options_.backoff);
    c.snap.name = p.name;
    c.snap.role = p.role;
    c.snap.state = Waiting("PodInitializing");
    containers_.push_back(std::move(c));
  }
}

std::vector<std::string> Supervisor::Launching() const {
  std::vector<std::string> names;
  for (const Container& c : containers_) {
    if (c.stage == Stage::kLaunching) names.push_back(c.plan.name);
  }
  return names;
}

std::vector<std::string> Supervisor::AwaitingPostStart() const {
  std::vector<std::string> names;
  for (const Container& c : containers_) {
    if (c.stage == Stage::kRunning && c.poststart_pending) names.push_back(c.plan.name);
  }
  return names;
}

Status Supervisor::Start() {
  if (started_) return Error::Domain(ErrorCode::kConflict, "start pod: already started");
  started_ = true;
  Sync();
  return Ok();
}

Result<Supervisor::Container*> Supervisor::Find(std::string_view name) {
  for (Container& c : containers_) {
    if (c.plan.name == name) return &c;
  }
  return Error::Domain(ErrorCode::kNotFound, "no container " + Quoted(name));
}

// Level-triggered, like the kubelet's computePodActions: due restarts first, then the next step
// of initialization, then the Job-completion check.
void Supervisor::Sync() {
  if (!started_ || terminating_) return;
  const TimePoint now = clock_->Now();
  for (Container& c : containers_) {
    if (c.stage == Stage::kBackOff && c.restart_at <= now) Launch(c);
  }
  if (!initialized_) {
    for (Container& c : containers_) {
      if (c.plan.role == Role::kApp) break;
      // A regular init must have exited 0; a sidecar must have started once (its later
      // restarts do not hold anything up). At most one new init container at a time.
      const bool done = c.plan.role == Role::kInit
                            ? c.stage == Stage::kExited && c.snap.state.exit_code == 0
                            : c.started_once;
      if (done) continue;
      if (c.stage == Stage::kPending) Launch(c);
      return;
    }
    initialized_ = true;
  }
  // App containers start in spec order, all in one go, except that one with a postStart hook
  // holds back the apps after it until the hook returned (kubelet runs the hook inside
  // startContainer; SEMANTICS 3.1 rule 4). A failed start holds back nothing.
  for (Container& c : containers_) {
    if (c.plan.role != Role::kApp) continue;
    if (c.stage == Stage::kPending) Launch(c);
    const bool hook_pending =
        c.plan.has_poststart &&
        (c.stage == Stage::kLaunching || (c.stage == Stage::kRunning && c.poststart_pending));
    if (hook_pending) break;
  }
  MaybeCompleteJob();
}

// Job completion (SEMANTICS 4.1, 6.5): no app container runs or will run again. An app being
// stopped for good counts as done already, as in kubelet's computePodActions: it keeps no
// container and starts none, so it returns KillPod at the kill itself, and the sidecars are
// neither restarted nor probe-killed from then on. Such a kill makes the reason Failed.
void Supervisor::MaybeCompleteJob() {
  if (!started_ || terminating_) return;
  bool all_apps_done = true;
  bool all_apps_succeeded = true;
  for (const Container& c : containers_) {
    if (c.plan.role != Role::kApp) continue;
    if (StoppingForGood(c)) {
      all_apps_succeeded = false;
      continue;
    }
    if (c.stage != Stage::kExited) all_apps_done = false;
    if (c.snap.state.exit_code.value_or(0) != 0) all_apps_succeeded = false;
  }
  if (all_apps_done) {
    BeginTermination(
        all_apps_succeeded ? TerminationReason::kCompleted : TerminationReason::kFailed,
        plan_.grace, /*kill_now=*/false);
  }
}

// An app container whose stop under way will not be followed by a restart: killed by a probe
// or a failed postStart under restartPolicy Never (kubelet restarts a probe-killed app under
// OnFailure and Always), and not by `ctl restart`.
bool Supervisor::StoppingForGood(const Container& c) const {
  return c.plan.role == Role::kApp && c.stop && !c.restart_requested &&
         plan_.restart_policy == PodRestartPolicy::kNever;
}

void Supervisor::Launch(Container& c) {
  if (c.ever_launched) {
    ++c.snap.restart_count;
    c.backoff.Restarted(clock_->Now());
  }
  c.ever_launched = true;
  c.stage = Stage::kLaunching;
  c.saved_last_state.reset();
  c.snap.state = Waiting("ContainerCreating");
  actions_.push_back(LaunchAction{c.plan.name, c.snap.restart_count});
}

Status Supervisor::OnContainerStarted(std::string_view name, pid_t pid) {
  Container* c = PODSHIM_TRY(Find(name));
  if (c->stage != Stage::kLaunching) {
    return Error::Domain(ErrorCode::kConflict, "container " + Quoted(c->plan.name) +
                                                   " started but was not being launched");
  }
  c->stage = Stage::kRunning;
  c->snap.state = StateSnapshot();
  c->snap.state.kind = Kind::kRunning;
  c->snap.state.started_at = clock_->WallNow();
  c->snap.pid = pid;
  c->readiness_ok = false;
  c->startup_passed = !c->plan.has_startup_probe;
  c->poststart_pending = c->plan.has_poststart;
  Emit("ContainerStarted", c, {Int("pid", pid), Int("restartCount", c->snap.restart_count)});
  // Built in place: moving a temporary variant here makes g++ 12 at -O3 warn that the variant's
  // other alternatives may be uninitialised (-Wmaybe-uninitialized, a false positive).
  if (c->poststart_pending) {
    actions_.emplace_back(std::in_place_type<StartPostStartAction>, c->plan.name);
  }
  MaybeMarkStarted(*c);
  UpdateReadiness(*c);
  Sync();
  return Ok();
}

void Supervisor::MaybeMarkStarted(Container& c) {
  if (c.stage == Stage::kRunning && !c.snap.started && c.startup_passed && !c.poststart_pending) {
    MarkStarted(c);
  }
}

void Supervisor::MarkStarted(Container& c) {
  c.snap.started = true;
  c.started_once = true;
  Emit("ContainerStartupSucceeded", &c);
}

Status Supervisor::OnStartupSucceeded(std::string_view name) {
  Container* c = PODSHIM_TRY(Find(name));
  if (c->stage != Stage::kRunning || c->startup_passed || !c->plan.has_startup_probe) return Ok();
  c->startup_passed = true;
  MaybeMarkStarted(*c);
  UpdateReadiness(*c);
  Sync();
  return Ok();
}

Status Supervisor::OnPostStartFinished(std::string_view name, bool success) {
  Container* c = PODSHIM_TRY(Find(name));
  if (c->stage != Stage::kRunning || !c->poststart_pending) return Ok();
  c->poststart_pending = false;
  if (!success) {
    if (!terminating_) StopContainer(*c, std::nullopt);
    // The apps after it still wait for its exit (kubelet kills it inside startContainer).
    MaybeCompleteJob();
    return Ok();
  }
  MaybeMarkStarted(*c);
  UpdateReadiness(*c);
  Sync();
  return Ok();
}

Status Supervisor::OnProbeKill(std::string_view name, std::optional<std::chrono::seconds> grace) {
  Container* c = PODSHIM_TRY(Find(name));
  if (terminating_ || c->stage != Stage::kRunning || c->stop) return Ok();
  StopContainer(*c, grace);
  MaybeCompleteJob();
  return Ok();
}

Status Supervisor::OnRestartRequest(std::string_view name) {
  Container* c = PODSHIM_TRY(Find(name));
  auto refuse = [&](std::string_view why) {
    return Error::Domain(ErrorCode::kConflict,
                         "restart " + Quoted(c->plan.name) + ": " + std::string(why));
  };
  if (terminating_) return refuse("the pod is terminating");
  if (c->plan.role == Role::kInit) return refuse("a regular init container is never restarted");
  switch (c->stage) {
    case Stage::kPending:
      return refuse("it has not been started yet");
    case Stage::kLaunching:
      return refuse("it is being started");
    case Stage::kRunning:
      c->restart_requested = true;
      StopContainer(*c, std::nullopt);
      return Ok();
    case Stage::kBackOff:
    case Stage::kExited:
      if (c->stage == Stage::kExited) {
        c->saved_last_state = c->snap.last_state;
        c->snap.last_state = c->snap.state;
      }
      Launch(*c);
      Sync();
      return Ok();
  }
  return Ok();
}

Status Supervisor::OnReadinessChanged(std::string_view name, bool ready) {
  Container* c = PODSHIM_TRY(Find(name));
  if (c->stage != Stage::kRunning || !c->plan.has_readiness_probe) return Ok();
  c->readiness_ok = ready;
  UpdateReadiness(*c);
  return Ok();
}

Status Supervisor::OnStartFailed(std::string_view name, std::string_view message) {
  Container* c = PODSHIM_TRY(Find(name));
  if (c->stage != Stage::kLaunching) {
    return Error::Domain(ErrorCode::kConflict, "container " + Quoted(c->plan.name) +
                                                   " failed to start but was not being launched");
  }
  RecordExit(*c, ContainerExit::Code(kStartErrorExitCode),
             message.empty() ? std::string_view("start failed") : message);
  return Ok();
}

Status Supervisor::OnContainerExited(std::string_view name, ContainerExit exit) {
  Container* c = PODSHIM_TRY(Find(name));
  if (c->stage != Stage::kRunning && c->stage != Stage::kLaunching) {
    return Error::Domain(ErrorCode::kConflict,
                         "container " + Quoted(c->plan.name) + " exited but was not running");
  }
  RecordExit(*c, exit, {});
  return Ok();
}

bool Supervisor::ShouldRestart(const Container& c, int exit_code) const {
  switch (c.plan.role) {
    case Role::kSidecar:
      return true;  // whatever the pod's restartPolicy, whatever the exit code
    case Role::kInit:
      return exit_code != 0 && plan_.restart_policy != PodRestartPolicy::kNever;
    case Role::kApp:
      switch (plan_.restart_policy) {
        case PodRestartPolicy::kAlways:
          return true;
        case PodRestartPolicy::kOnFailure:
          return exit_code != 0;
        case PodRestartPolicy::kNever:
          return false;
      }
  }
  return false;
}

// `start_error` non-empty: the launch failed (reason StartError) rather than a process exit.
void Supervisor::RecordExit(Container& c, const ContainerExit& exit, std::string_view start_error) {
  const TimePoint now = clock_->Now();
  const bool start_failed = !start_error.empty();
  StateSnapshot t;
  t.kind = Kind::kTerminated;
  if (!exit.unknown) t.exit_code = exit.exit_code;
  t.signal = exit.signal;
  if (c.snap.state.kind == Kind::kRunning) t.started_at = c.snap.state.started_at;
  t.finished_at = clock_->WallNow();
  if (start_failed) {
    t.reason = "StartError";
    t.message = std::string(start_error);
  } else if (exit.unknown) {
    t.reason = "ContainerStatusUnknown";
    t.message = "the container ended while no shim watched it; its exit status is unknown";
  } else if (exit.oom) {
    t.reason = "OOMKilled";
  } else {
    t.reason = exit.exit_code == 0 ? "Completed" : "Error";
  }
  c.snap.state = t;
  c.snap.pid.reset();
  c.snap.started = false;
  c.readiness_ok = false;
  c.startup_passed = false;
  c.poststart_pending = false;
  c.stop.reset();
  const bool restart_requested = std::exchange(c.restart_requested, false);
  c.stage = Stage::kExited;
  if (start_failed) {
    Emit("ContainerStartFailed", &c,
         {Str("message", start_error), Int("restartCount", c.snap.restart_count)});
  } else {
    Emit("ContainerExited", &c,
         {exit.unknown ? EventField{"exitCode", nullptr} : Int("exitCode", exit.exit_code),
          exit.signal ? Str("signal", signals::SignalName(*exit.signal))
                      : EventField{"signal", nullptr},
          Str("reason", t.reason), Int("restartCount", c.snap.restart_count)});
  }
  UpdateReadiness(c);

  if (terminating_) {  // once termination began, nothing restarts
    if (termination_) TakePodPlanActions(termination_->OnContainerExited(c.plan.name));
    MaybeFinish();
    return;
  }
  if (restart_requested) {  // `ctl restart`: again at once, whatever the policy
    c.saved_last_state = c.snap.last_state;
    c.snap.last_state = c.snap.state;
    Launch(c);
  } else if (ShouldRestart(c, exit.exit_code)) {
    const Clock::Duration delay = c.backoff.NextDelay(now);
    c.stage = Stage::kBackOff;
    c.restart_at = now + delay;
    c.saved_last_state = c.snap.last_state;
    c.snap.last_state = c.snap.state;
    c.snap.state = Waiting("CrashLoopBackOff");
    Emit("ContainerBackOff", &c,
         {Int("delayMs", std::chrono::duration_cast<std::chrono::milliseconds>(delay).count())});
  } else if (c.plan.role == Role::kInit && exit.exit_code != 0) {
    // A failed regular init container under restartPolicy Never fails the pod (SEMANTICS 3.2).
    BeginTermination(TerminationReason::kFailed, plan_.grace, /*kill_now=*/false);
    return;
  }
  Sync();
}

void Supervisor::UpdateReadiness(Container& c) {
  if (c.plan.role != Role::kInit) {
    const bool ready = c.stage == Stage::kRunning && c.snap.started &&
                       (!c.plan.has_readiness_probe || c.readiness_ok);
    if (ready != c.snap.ready) {
      c.snap.ready = ready;
      Emit(ready ? "ContainerReady" : "ContainerNotReady", &c);
    }
  } else {
    c.snap.ready = c.stage == Stage::kExited && c.snap.state.exit_code == 0;
  }
  const bool pod_ready =
      std::all_of(containers_.begin(), containers_.end(),
                  [](const Container& x) { return x.plan.role == Role::kInit || x.snap.ready; });
  if (pod_ready != pod_ready_) {
    pod_ready_ = pod_ready;
    Emit(pod_ready ? "PodReady" : "PodNotReady", nullptr);
  }
}

void Supervisor::Emit(std::string type, const Container* c, std::vector<EventField> fields) {
  PodEvent e;
  e.type = std::move(type);
  e.time = clock_->WallNow();
  e.fields = std::move(fields);
  if (c) {
    e.container = c->plan.name;
    e.role = c->plan.role;
  }
  actions_.push_back(EmitAction{std::move(e)});
}

std::vector<SupervisorAction> Supervisor::TakeActions() { return std::exchange(actions_, {}); }

std::optional<Supervisor::TimePoint> Supervisor::NextDeadline() const {
  if (finished_) return std::nullopt;
  // After a kill-now only exits matter: the plans' later deadlines would only send more.
  if (terminating_ && (killed_now_ || !termination_)) return std::nullopt;
  std::optional<TimePoint> next;
  auto consider = [&next](std::optional<TimePoint> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  if (terminating_) {
    consider(termination_->NextDeadline());
    for (const Container& c : containers_) {  // apps that go on with their own stop
      if (c.stop) consider(c.stop->NextDeadline());
    }
    return next;
  }
  for (const Container& c : containers_) {
    if (c.stage == Stage::kBackOff) consider(c.restart_at);
    if (c.stop) consider(c.stop->NextDeadline());
  }
  return next;
}

std::vector<ContainerSnapshot> Supervisor::ContainerSnapshots() const {
  std::vector<ContainerSnapshot> out;
  out.reserve(containers_.size());
  for (const Container& c : containers_) out.push_back(c.snap);
  return out;
}

PodPhase Supervisor::Phase() const {
  return ComputePodPhase(plan_.restart_policy, ContainerSnapshots(), finished_);
}

PodSnapshot Supervisor::Snapshot() const {
  PodSnapshot s;
  s.pod_name = plan_.pod_name;
  s.phase = Phase();
  s.initialized = initialized_;
  s.ready = pod_ready_;
  s.terminating = terminating_;
  s.finished = finished_;
  s.containers = ContainerSnapshots();
  return s;
}

}  // namespace podshim::shim
