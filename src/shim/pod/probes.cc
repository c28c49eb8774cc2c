#include "shim/pod/probes.h"

#include <algorithm>
#include <utility>

namespace podshim::shim {
namespace {

ProbeTransition Transition(ProbeTransitionKind kind, ProbeKind probe, std::string_view message = {},
                           std::optional<std::chrono::seconds> grace = std::nullopt) {
  ProbeTransition t;
  t.kind = kind;
  t.probe = probe;
  t.message = std::string(message);
  t.grace = grace;
  return t;
}

}  // namespace

std::string_view ProbeResultName(ProbeResult r) {
  switch (r) {
    case ProbeResult::kUnknown:
      return "Unknown";
    case ProbeResult::kSuccess:
      return "Success";
    case ProbeResult::kFailure:
      return "Failure";
  }
  return "Unknown";
}

std::string_view ProbeTransitionKindName(ProbeTransitionKind k) {
  switch (k) {
    case ProbeTransitionKind::kProbeFailed:
      return "ProbeFailed";
    case ProbeTransitionKind::kStarted:
      return "Started";
    case ProbeTransitionKind::kReady:
      return "Ready";
    case ProbeTransitionKind::kNotReady:
      return "NotReady";
    case ProbeTransitionKind::kLivenessFailed:
      return "LivenessFailed";
    case ProbeTransitionKind::kStartupFailed:
      return "StartupFailed";
  }
  return "Unknown";
}

ProbeSet::ProbeSet(const Clock& clock, std::optional<Probe> startup, std::optional<Probe> readiness,
                   std::optional<Probe> liveness)
    : clock_(&clock) {
  startup_.probe = std::move(startup);
  startup_.kind = ProbeKind::kStartup;
  startup_.initial = ProbeResult::kUnknown;
  readiness_.probe = std::move(readiness);
  readiness_.kind = ProbeKind::kReadiness;
  readiness_.initial = ProbeResult::kFailure;
  liveness_.probe = std::move(liveness);
  liveness_.kind = ProbeKind::kLiveness;
  liveness_.initial = ProbeResult::kSuccess;
  for (Worker* w : {&startup_, &readiness_, &liveness_}) Reset(*w);
}

ProbeSet ProbeSet::ForContainer(const Clock& clock, const Container& container) {
  return ProbeSet(clock, container.startup_probe, container.readiness_probe,
                  container.liveness_probe);
}

ProbeSet::Worker& ProbeSet::W(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kStartup:
      return startup_;
    case ProbeKind::kReadiness:
      return readiness_;
    case ProbeKind::kLiveness:
      break;
  }
  return liveness_;
}

const ProbeSet::Worker& ProbeSet::W(ProbeKind kind) const {
  return const_cast<ProbeSet*>(this)->W(kind);
}

void ProbeSet::Reset(Worker& w) {
  w.result = w.initial;
  w.last = ProbeResult::kUnknown;
  w.run = 0;
  w.active = false;
  w.on_hold = false;
  w.in_flight.reset();
}

void ProbeSet::Activate(Worker& w, TimePoint at) {
  if (!w.probe) return;
  w.active = true;
  w.due = at;
}

void ProbeSet::PushReadinessChange(bool was_ready, std::vector<ProbeTransition>& out) const {
  bool now_ready = ready();
  if (now_ready == was_ready) return;
  out.push_back(Transition(now_ready ? ProbeTransitionKind::kReady : ProbeTransitionKind::kNotReady,
                           ProbeKind::kReadiness));
}

std::vector<ProbeTransition> ProbeSet::OnContainerStarted() {
  std::vector<ProbeTransition> out;
  bool was_ready = ready();
  TimePoint now = clock_->Now();
  running_ = true;
  started_at_ = now;
  for (Worker* w : {&startup_, &readiness_, &liveness_}) Reset(*w);
  if (terminating_) liveness_.result = ProbeResult::kSuccess;

  if (startup_.probe) {
    if (!terminating_) Activate(startup_, now + startup_.probe->initial_delay);
  } else {
    out.push_back(Transition(ProbeTransitionKind::kStarted, ProbeKind::kStartup));
    if (readiness_.probe) Activate(readiness_, now + readiness_.probe->initial_delay);
    if (liveness_.probe && !terminating_) {
      Activate(liveness_, now + liveness_.probe->initial_delay);
    }
  }
  PushReadinessChange(was_ready, out);
  return out;
}

std::vector<ProbeTransition> ProbeSet::OnContainerExited() {
  std::vector<ProbeTransition> out;
  bool was_ready = ready();
  running_ = false;
  for (Worker* w : {&startup_, &readiness_, &liveness_}) {
    w->active = false;
    w->in_flight.reset();
  }
  PushReadinessChange(was_ready, out);
  return out;
}

void ProbeSet::OnTerminationStarted() {
  terminating_ = true;
  for (Worker* w : {&startup_, &liveness_}) {
    w->active = false;
    w->in_flight.reset();
  }
  liveness_.result = ProbeResult::kSuccess;
}

std::vector<ProbeRun> ProbeSet::DueProbes(TimePoint now) {
  std::vector<ProbeRun> out;
  for (Worker* w : {&startup_, &readiness_, &liveness_}) {
    if (!w->active || w->on_hold || w->in_flight || w->due > now) continue;
    std::uint64_t id = next_run_id_++;
    w->in_flight = id;
    // A fixed ticker: the next tick after `now`, skipping the ticks this run made us miss.
    auto period = std::chrono::duration_cast<Clock::Duration>(w->probe->period);
    auto missed = (now - w->due) / period + 1;
    w->due += missed * period;
    out.push_back({.kind = w->kind, .run_id = id, .probe = *w->probe});
  }
  return out;
}

std::vector<ProbeTransition> ProbeSet::OnProbeResult(ProbeKind kind, std::uint64_t run_id,
                                                     bool success, std::string_view message) {
  std::vector<ProbeTransition> out;
  Worker& w = W(kind);
  if (!w.in_flight || *w.in_flight != run_id) return out;
  w.in_flight.reset();
  if (!w.active || w.on_hold) return out;

  ProbeResult raw = success ? ProbeResult::kSuccess : ProbeResult::kFailure;
  if (!success) {
    out.push_back(Transition(ProbeTransitionKind::kProbeFailed, kind, message));
  }
  if (raw == w.last) {
    ++w.run;
  } else {
    w.last = raw;
    w.run = 1;
  }
  if ((!success && w.run < w.probe->failure_threshold) ||
      (success && w.run < w.probe->success_threshold)) {
    return out;
  }

  bool was_ready = ready();
  w.result = raw;
  TimePoint now = clock_->Now();
  switch (kind) {
    case ProbeKind::kStartup:
      if (success) {
        w.active = false;  // the startup worker's job is done for this instance
        out.push_back(Transition(ProbeTransitionKind::kStarted, kind));
        if (readiness_.probe) {
          Activate(readiness_, std::max(now, started_at_ + readiness_.probe->initial_delay));
        }
        if (liveness_.probe) {
          Activate(liveness_, std::max(now, started_at_ + liveness_.probe->initial_delay));
        }
      } else {
        w.on_hold = true;
        w.run = 0;
        out.push_back(Transition(ProbeTransitionKind::kStartupFailed, kind, message,
                                 w.probe->termination_grace_period));
      }
      break;
    case ProbeKind::kReadiness:
      break;
    case ProbeKind::kLiveness:
      if (!success) {
        w.on_hold = true;
        w.run = 0;
        out.push_back(Transition(ProbeTransitionKind::kLivenessFailed, kind, message,
                                 w.probe->termination_grace_period));
      }
      break;
  }
  PushReadinessChange(was_ready, out);
  return out;
}

std::optional<ProbeSet::TimePoint> ProbeSet::NextDeadline() const {
  std::optional<TimePoint> next;
  for (const Worker* w : {&startup_, &readiness_, &liveness_}) {
    if (!w->active || w->on_hold || w->in_flight) continue;
    if (!next || w->due < *next) next = w->due;
  }
  return next;
}

bool ProbeSet::has_probe(ProbeKind kind) const { return W(kind).probe.has_value(); }
ProbeResult ProbeSet::result(ProbeKind kind) const { return W(kind).result; }
bool ProbeSet::in_flight(ProbeKind kind) const { return W(kind).in_flight.has_value(); }
bool ProbeSet::on_hold(ProbeKind kind) const { return W(kind).on_hold; }

bool ProbeSet::started() const {
  return running_ && (!startup_.probe || startup_.result == ProbeResult::kSuccess);
}

bool ProbeSet::ready() const {
  return started() && (!readiness_.probe || readiness_.result == ProbeResult::kSuccess);
}

}  // namespace podshim::shim
