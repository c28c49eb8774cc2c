// TerminationPlan: the pod stop sequence of SEMANTICS 6.1-6.2 (kubelet killContainer +
// kuberuntime_termination_order.go) as a pure state machine: no I/O, no sleeping, time from a
// Clock. The shim feeds it exits and preStop completions, carries out the actions it returns (run a
// hook, send the stop signal through a Signaller, SIGKILL the container's cgroup) and re-arms one
// timer at NextDeadline().
#pragma once

#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/container_role.h"
#include "common/result.h"

namespace podshim::signals {

// Grace periods above this (100 years) are clamped to it: deadlines are t0 + grace in int64
// nanoseconds, which a grace near INT64_MAX seconds would overflow.
inline constexpr std::chrono::seconds kMaxGracePeriod{3'155'760'000};

// kInit: no prerequisites, nobody waits for it; kSidecar: waits for every app container and the
// next sidecar; kApp: no prerequisites.
using ContainerRole = ::podshim::ContainerRole;

// One container of the pod, in spec order (init containers and sidecars first, then apps).
struct TerminationContainer {
  std::string name;
  ContainerRole role = ContainerRole::kApp;
  // Not running (never started, or already exited) counts as terminated: no hook, no signal,
  // and nobody waits for it.
  bool running = false;
  bool has_prestop = false;
  int stop_signal = SIGTERM;  // image STOPSIGNAL / lifecycle.stopSignal
  // Replaces the pod grace for this container (kubelet: a probe's terminationGracePeriodSeconds).
  std::optional<std::chrono::seconds> grace = std::nullopt;
};

struct TerminationAction {
  enum class Kind {
    kStartPreStop,  // run the container's preStop hook now (the plan bounds it by the grace)
    kSignal,        // send `signal` (the stop signal) to the container's main process
    kKill,          // SIGKILL the whole container (cgroup.kill where it has a cgroup)
  };
  Kind kind;
  std::string container;
  int signal = 0;  // kSignal: the stop signal; kKill: SIGKILL; kStartPreStop: 0

  bool operator==(const TerminationAction&) const = default;
};

// Where one container is in its stop sequence.
enum class TerminationPhase {
  kPreStop,         // hook running (bounded by the container's grace)
  kWaitingForTurn,  // sidecar waiting for the app containers / the next sidecar
  kStopping,        // stop signal sent, SIGKILL at the kill deadline
  kKilled,          // SIGKILL sent, waiting for the exit
  kExited,          // exited, or was not running when termination began
};

std::string_view TerminationPhaseName(TerminationPhase p);

// Timeline, per container c with grace G (SEMANTICS 6.1, kubelet's whole-second bookkeeping):
//  t0: every running container with a preStop hook and G > 0 gets kStartPreStop, all at once.
//  hook done (or abandoned at t0+G): G -= whole seconds it took.
//  sidecars then wait (if G > 0) until every app container and the next running sidecar in spec
//    order have exited, at most G seconds; G -= whole seconds waited. Apps and init containers
//    do not wait.
//  then kSignal(stop_signal), and kKill max(G, 2) seconds later (minimumGracePeriodInSeconds).
// A container that exits at any point is done: nothing more is sent to it. Done() once every
// container has exited.
class TerminationPlan {
 public:
  using Duration = Clock::Duration;
  using TimePoint = Clock::TimePoint;

  // Validates the input (non-empty, unique names; grace >= 0) and records t0 = clock.Now().
  // Graces above kMaxGracePeriod are clamped to it.
  // The clock must outlive the plan.
  static Result<TerminationPlan> Create(const Clock& clock,
                                        std::vector<TerminationContainer> containers,
                                        std::chrono::seconds pod_grace);

  // The actions due at t0 (hooks to start, stop signals for containers that need not wait).
  // Call once, right after Create; later calls return nothing.
  std::vector<TerminationAction> Start();

  // Events. Each also carries out whatever deadlines have passed by clock.Now(), after the event
  // itself. A name the plan does not know, or an event that no longer matters (a hook finishing
  // after it was abandoned, a second exit), is ignored.
  std::vector<TerminationAction> OnContainerExited(std::string_view name);
  std::vector<TerminationAction> OnPreStopFinished(std::string_view name);
  // Call when the timer armed at NextDeadline() fires (calling early is harmless).
  std::vector<TerminationAction> OnDeadline();

  // The earliest time a deadline falls due; nullopt when only exits can move the plan on.
  std::optional<TimePoint> NextDeadline() const;
  // Every container has exited.
  bool Done() const;

  // Introspection for the supervisor's status and for tests; nullopt for an unknown name.
  std::optional<TerminationPhase> Phase(std::string_view name) const;
  // How long a container waited for its turn (0 for containers that do not wait); nullopt while
  // it has not had its turn yet, and for containers that never got one.
  std::optional<Duration> WaitedForTurn(std::string_view name) const;
  // When the stop signal was (or is) sent: nullopt before that.
  std::optional<TimePoint> SignalledAt(std::string_view name) const;

 private:
  struct Entry {
    TerminationContainer spec;
    std::chrono::seconds grace{0};  // what is left of the container's grace, in whole seconds
    TerminationPhase phase = TerminationPhase::kExited;
    TimePoint phase_start{};  // when the hook or the wait began
    TimePoint deadline{};     // end of the current phase's bound (hook, wait, SIGKILL)
    bool prestop_finished = false;
    std::optional<Duration> waited;
    std::optional<TimePoint> signalled_at;
    int next_sidecar = -1;  // index of the next sidecar in spec order, or -1
  };
  TerminationPlan(const Clock& clock, std::vector<Entry> entries, TimePoint t0);

  std::vector<TerminationAction> Step();
  bool PrerequisitesExited(const Entry& e) const;
  void Advance(Entry& e, TimePoint now, std::vector<TerminationAction>& out) const;
  void EndPreStop(Entry& e, TimePoint now) const;
  void SendStopSignal(Entry& e, TimePoint now, std::vector<TerminationAction>& out) const;
  Entry* Find(std::string_view name);
  const Entry* Find(std::string_view name) const;

  const Clock* clock_;
  std::vector<Entry> entries_;
  TimePoint t0_;
  bool started_ = false;
};

}  // namespace podshim::signals
