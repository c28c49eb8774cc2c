#include "signals/termination_plan.h"

#include <algorithm>
#include <set>
#include <utility>

#include "common/quoted.h"

namespace podshim::signals {
namespace {

using std::chrono::seconds;

// kubelet keeps grace in whole seconds: time spent in a hook or waiting is truncated downward
// before it is subtracted (executePreStopHook, waitForTurn).
seconds WholeSeconds(Clock::Duration d) { return std::chrono::floor<seconds>(d); }

// minimumGracePeriodInSeconds in kuberuntime_container.go.
constexpr seconds kMinimumStopGrace{2};

}  // namespace

std::string_view TerminationPhaseName(TerminationPhase p) {
  switch (p) {
    case TerminationPhase::kPreStop:
      return "prestop";
    case TerminationPhase::kWaitingForTurn:
      return "waiting-for-turn";
    case TerminationPhase::kStopping:
      return "stopping";
    case TerminationPhase::kKilled:
      return "killed";
    case TerminationPhase::kExited:
      return "exited";
  }
  return "unknown";
}

Result<TerminationPlan> TerminationPlan::Create(const Clock& clock,
                                                std::vector<TerminationContainer> containers,
                                                seconds pod_grace) {
  if (pod_grace < seconds(0)) {
    return Error::Invalid("termination grace period must not be negative, got " +
                          std::to_string(pod_grace.count()) + "s");
  }
  std::set<std::string, std::less<>> names;
  std::vector<Entry> entries;
  entries.reserve(containers.size());
  for (size_t i = 0; i < containers.size(); ++i) {
    TerminationContainer& c = containers[i];
    if (c.name.empty()) {
      return Error::Invalid("termination plan: container " + std::to_string(i) + " has no name");
    }
    if (!names.insert(c.name).second) {
      return Error::Invalid("termination plan: container name " + Quoted(c.name) + " is repeated");
    }
    if (c.grace && *c.grace < seconds(0)) {
      return Error::Invalid("termination plan: grace period of " + Quoted(c.name) +
                            " must not be negative");
    }
    if (c.stop_signal <= 0) {
      return Error::Invalid("termination plan: stop signal of " + Quoted(c.name) + " is " +
                            std::to_string(c.stop_signal));
    }
    Entry e;
    e.grace = std::min(c.grace.value_or(pod_grace), kMaxGracePeriod);
    e.spec = std::move(c);
    entries.push_back(std::move(e));
  }
  // Each sidecar waits for the next sidecar in spec order (regular init containers in between
  // are skipped), so sidecars stop in reverse declaration order.
  int next = -1;
  for (int i = static_cast<int>(entries.size()) - 1; i >= 0; --i) {
    if (entries[i].spec.role != ContainerRole::kSidecar) continue;
    entries[i].next_sidecar = next;
    next = i;
  }
  const TimePoint t0 = clock.Now();
  return TerminationPlan(clock, std::move(entries), t0);
}

TerminationPlan::TerminationPlan(const Clock& clock, std::vector<Entry> entries, TimePoint t0)
    : clock_(&clock), entries_(std::move(entries)), t0_(t0) {
  for (Entry& e : entries_) {
    if (!e.spec.running) continue;  // counts as terminated from the start
    // A hook runs only when there is grace left to bound it (killContainer: gracePeriod > 0).
    e.phase = (e.spec.has_prestop && e.grace > seconds(0)) ? TerminationPhase::kPreStop
                                                           : TerminationPhase::kWaitingForTurn;
    e.phase_start = t0;
    e.deadline = t0 + e.grace;
  }
}

std::vector<TerminationAction> TerminationPlan::Start() {
  if (started_) return {};
  started_ = true;
  std::vector<TerminationAction> out;
  for (const Entry& e : entries_) {
    if (e.phase == TerminationPhase::kPreStop) {
      out.push_back({TerminationAction::Kind::kStartPreStop, e.spec.name, 0});
    }
  }
  std::vector<TerminationAction> rest = Step();
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::vector<TerminationAction> TerminationPlan::OnContainerExited(std::string_view name) {
  if (Entry* e = Find(name)) e->phase = TerminationPhase::kExited;
  return Step();
}

std::vector<TerminationAction> TerminationPlan::OnPreStopFinished(std::string_view name) {
  if (Entry* e = Find(name)) e->prestop_finished = true;
  return Step();
}

std::vector<TerminationAction> TerminationPlan::OnDeadline() { return Step(); }

std::vector<TerminationAction> TerminationPlan::Step() {
  std::vector<TerminationAction> out;
  if (!started_) return out;
  const TimePoint now = clock_->Now();
  // Only exits unblock a waiting sidecar and Advance never marks anything exited, so one pass
  // sees every change this event or deadline can cause.
  for (Entry& e : entries_) Advance(e, now, out);
  return out;
}

bool TerminationPlan::PrerequisitesExited(const Entry& e) const {
  if (e.spec.role != ContainerRole::kSidecar) return true;
  for (const Entry& other : entries_) {
    if (other.spec.role == ContainerRole::kApp && other.phase != TerminationPhase::kExited) {
      return false;
    }
  }
  return e.next_sidecar < 0 || entries_[e.next_sidecar].phase == TerminationPhase::kExited;
}

void TerminationPlan::Advance(Entry& e, TimePoint now, std::vector<TerminationAction>& out) const {
  if (e.phase == TerminationPhase::kPreStop && (e.prestop_finished || now >= e.deadline)) {
    EndPreStop(e, now);
  }
  if (e.phase == TerminationPhase::kWaitingForTurn) {
    const bool may_wait = e.spec.role == ContainerRole::kSidecar && e.grace > seconds(0);
    if (!may_wait) {
      e.waited = Duration::zero();
      SendStopSignal(e, now, out);
    } else if (PrerequisitesExited(e) || now >= e.deadline) {
      e.waited = now - e.phase_start;
      e.grace -= WholeSeconds(*e.waited);
      SendStopSignal(e, now, out);
    }
  }
  if (e.phase == TerminationPhase::kStopping && now >= e.deadline) {
    out.push_back({TerminationAction::Kind::kKill, e.spec.name, SIGKILL});
    e.phase = TerminationPhase::kKilled;
  }
}

// The hook returned, or was abandoned at the end of the grace period (kubelet does not kill it).
void TerminationPlan::EndPreStop(Entry& e, TimePoint now) const {
  e.grace -= WholeSeconds(now - e.phase_start);
  e.phase = TerminationPhase::kWaitingForTurn;
  e.phase_start = now;
  e.deadline = now + std::max(e.grace, seconds(0));
}

void TerminationPlan::SendStopSignal(Entry& e, TimePoint now,
                                     std::vector<TerminationAction>& out) const {
  out.push_back({TerminationAction::Kind::kSignal, e.spec.name, e.spec.stop_signal});
  e.signalled_at = now;
  e.phase = TerminationPhase::kStopping;
  e.deadline = now + std::max(e.grace, kMinimumStopGrace);
}

std::optional<TerminationPlan::TimePoint> TerminationPlan::NextDeadline() const {
  if (!started_) return std::nullopt;
  std::optional<TimePoint> next;
  for (const Entry& e : entries_) {
    switch (e.phase) {
      case TerminationPhase::kPreStop:
      case TerminationPhase::kWaitingForTurn:
      case TerminationPhase::kStopping:
        if (!next || e.deadline < *next) next = e.deadline;
        break;
      case TerminationPhase::kKilled:
      case TerminationPhase::kExited:
        break;
    }
  }
  return next;
}

bool TerminationPlan::Done() const {
  return std::all_of(entries_.begin(), entries_.end(),
                     [](const Entry& e) { return e.phase == TerminationPhase::kExited; });
}

std::optional<TerminationPhase> TerminationPlan::Phase(std::string_view name) const {
  const Entry* e = Find(name);
  if (!e) return std::nullopt;
  return e->phase;
}

std::optional<TerminationPlan::Duration> TerminationPlan::WaitedForTurn(
    std::string_view name) const {
  const Entry* e = Find(name);
  if (!e) return std::nullopt;
  return e->waited;
}

std::optional<TerminationPlan::TimePoint> TerminationPlan::SignalledAt(
    std::string_view name) const {
  const Entry* e = Find(name);
  if (!e) return std::nullopt;
  return e->signalled_at;
}

TerminationPlan::Entry* TerminationPlan::Find(std::string_view name) {
  for (Entry& e : entries_) {
    if (e.spec.name == name) return &e;
  }
  return nullptr;
}

const TerminationPlan::Entry* TerminationPlan::Find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.spec.name == name) return &e;
  }
  return nullptr;
}

}  // namespace podshim::signals
