// The supervisor's stopping side: one container stopped on its own (a failed probe or postStart
// hook, `ctl restart`), and the pod's termination (the termination plan's actions, preStop hooks
// returning, deadlines, the pod finishing). Pure, as the rest of Supervisor (supervisor.h).
#include <utility>

#include "shim/pod/supervisor.h"

namespace podshim::shim {
namespace {

EventField Int(std::string key, int64_t v) { return {std::move(key), v}; }
EventField Str(std::string key, std::string_view v) { return {std::move(key), std::string(v)}; }

}  // namespace

void Supervisor::StopContainer(Container& c, std::optional<std::chrono::seconds> grace) {
  if (c.stop) return;
  signals::TerminationContainer t;
  t.name = c.plan.name;
  t.role = Role::kApp;  // alone in its plan: nobody to wait for
  t.running = true;
  t.has_prestop = c.plan.has_prestop;
  t.stop_signal = c.plan.stop_signal;
  const std::chrono::seconds g = grace.value_or(plan_.grace);
  auto stop = signals::TerminationPlan::Create(*clock_, {t}, g);
  if (!stop) {  // cannot happen for a validated plan; kill rather than leave it running
    actions_.push_back(KillContainerAction{c.plan.name});
    return;
  }
  c.stop.emplace(std::move(*stop));
  c.stop_grace = g;
  TakePlanActions(c.stop->Start(), g);
}

void Supervisor::OnStopRequest(TerminationReason reason,
                               std::optional<std::chrono::seconds> grace) {
  if (finished_) return;
  const bool kill_now = grace && *grace <= std::chrono::seconds(0);
  if (terminating_) {
    if (kill_now) KillNow();
    MaybeFinish();
    return;
  }
  BeginTermination(reason, kill_now ? std::chrono::seconds(0) : grace.value_or(plan_.grace),
                   kill_now);
}

void Supervisor::BeginTermination(TerminationReason reason, std::chrono::seconds grace,
                                  bool kill_now) {
  if (terminating_) return;
  terminating_ = true;
  termination_reason_ = reason;
  termination_grace_ = grace;
  killed_now_ = kill_now;
  // Pending restarts are cancelled: the container stays as it exited.
  std::vector<signals::TerminationContainer> list;
  for (Container& c : containers_) {
    if (c.stage == Stage::kBackOff) {
      c.stage = Stage::kExited;
      if (c.snap.last_state) c.snap.state = *c.snap.last_state;
      c.snap.last_state = c.saved_last_state;
      c.saved_last_state.reset();
    }
    const bool running = c.stage == Stage::kRunning || c.stage == Stage::kLaunching;
    const bool keeps_own_stop = StoppingForGood(c);
    signals::TerminationContainer t;
    t.name = c.plan.name;
    t.role = c.plan.role;
    t.running = running;
    // A container already being stopped on its own had its preStop started then. An app
    // stopped for good goes on with its own stop (hook, signal, grace): the pod's plan sends it
    // nothing (TakePodPlanActions) and only waits for its exit. Any other is taken over by the
    // pod's plan, without a second hook.
    t.has_prestop = c.plan.has_prestop && !c.stop;
    if (!keeps_own_stop) c.stop.reset();
    c.restart_requested = false;
    t.stop_signal = c.plan.stop_signal;
    list.push_back(std::move(t));
  }
  Emit("TerminationStarted", nullptr,
       {Str("reason", TerminationReasonName(reason)), Int("gracePeriodSeconds", grace.count())});
  auto plan = signals::TerminationPlan::Create(*clock_, std::move(list), grace);
  if (plan) {
    termination_.emplace(std::move(*plan));
    TakePodPlanActions(termination_->Start());
  } else {
    killed_now_ = true;  // cannot happen with a validated PodPlan; stop hard rather than hang
  }
  if (killed_now_) KillNow();
  MaybeFinish();
}

void Supervisor::KillNow() {
  killed_now_ = true;
  for (const Container& c : containers_) {
    if (c.stage == Stage::kRunning || c.stage == Stage::kLaunching) {
      actions_.push_back(KillContainerAction{c.plan.name});
    }
  }
}

void Supervisor::TakePlanActions(std::vector<signals::TerminationAction> actions,
                                 std::chrono::seconds grace) {
  if (killed_now_) return;  // everything got SIGKILL already
  for (signals::TerminationAction& a : actions) {
    switch (a.kind) {
      case signals::TerminationAction::Kind::kStartPreStop:
        actions_.push_back(StartPreStopAction{std::move(a.container), grace});
        break;
      case signals::TerminationAction::Kind::kSignal:
        actions_.push_back(SignalAction{std::move(a.container), a.signal});
        break;
      case signals::TerminationAction::Kind::kKill:
        actions_.push_back(KillContainerAction{std::move(a.container)});
        break;
    }
  }
}

// The pod plan's actions, less those for a container that goes on with its own stop.
void Supervisor::TakePodPlanActions(std::vector<signals::TerminationAction> actions) {
  std::erase_if(actions, [this](const signals::TerminationAction& a) {
    auto c = Find(a.container);
    return c && (*c)->stop.has_value();
  });
  TakePlanActions(std::move(actions), termination_grace_);
}

Status Supervisor::OnPreStopFinished(std::string_view name) {
  Container* c = PODSHIM_TRY(Find(name));
  if (finished_) return Ok();
  if (c->stop) {
    TakePlanActions(c->stop->OnPreStopFinished(c->plan.name), c->stop_grace);
    return Ok();
  }
  if (!termination_) return Ok();
  TakePodPlanActions(termination_->OnPreStopFinished(c->plan.name));
  MaybeFinish();
  return Ok();
}

void Supervisor::OnDeadline() {
  if (finished_) return;
  for (Container& c : containers_) {
    if (c.stop) TakePlanActions(c.stop->OnDeadline(), c.stop_grace);
  }
  if (terminating_) {
    if (termination_) TakePodPlanActions(termination_->OnDeadline());
    MaybeFinish();
    return;
  }
  Sync();
}

void Supervisor::MaybeFinish() {
  if (!terminating_ || finished_) return;
  for (const Container& c : containers_) {
    if (c.stage == Stage::kRunning || c.stage == Stage::kLaunching) return;
  }
  finished_ = true;
  const PodPhase phase = Phase();
  const bool stopped = termination_reason_ == TerminationReason::kSignal ||
                       termination_reason_ == TerminationReason::kRequest;
  Emit("PodFinished", nullptr, {Str("phase", stopped ? "Terminated" : PodPhaseName(phase))});
  actions_.emplace_back(std::in_place_type<PodFinishedAction>, phase, termination_reason_);
}

}  // namespace podshim::shim
