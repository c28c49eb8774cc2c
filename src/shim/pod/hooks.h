// Lifecycle hooks (SEMANTICS 3.1 rule 3, 6.1 step 2; kubelet handlers.go): postStart and preStop
// with exec, httpGet or sleep handlers, as plain data the event loop carries out, plus a pure
// tracker of the hooks in flight (their deadlines, and the HookStarted / HookFinished events).
// exec runs in the container (the launcher), httpGet through ProbeRunner, sleep is a deadline.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "shim/manifest/manifest.h"
#include "shim/pod/probe_outcome.h"

namespace podshim::shim {

enum class HookKind { kPostStart, kPreStop };
std::string_view HookKindName(HookKind kind);  // "postStart", "preStop" (the events' `hook`)

// The three ways a hook runs.
struct HookExecStep {
  std::vector<std::string> argv;  // in the container, as an exec probe (no timeout of its own)
};
struct HookHttpStep {
  HttpGetAction action;                         // ProbeRunner::HttpGet in the pod network namespace
  std::chrono::steady_clock::duration timeout;  // the time left until the hook's deadline
};
struct HookSleepStep {
  Clock::TimePoint until;  // nothing to run: the hook finishes (exit 0) at this time
};
using HookStep = std::variant<HookExecStep, HookHttpStep, HookSleepStep>;

// One hook to start now.
struct HookRun {
  HookKind hook;
  std::string container;
  HookStep step;
  Clock::TimePoint started_at;
  // preStop: started_at + the container's grace; a hook still running then is abandoned (not
  // killed) and the termination goes on. postStart: nullopt (kubelet gives it no time limit; it
  // ends with the container).
  std::optional<Clock::TimePoint> deadline;
};

// Plans `handler` as hook `hook` of `container`, starting at `now`. For a preStop, `grace` is the
// container's grace period (its deadline); ignored for a postStart. kInvalidSpec when the handler
// cannot run (empty exec command, a host name), naming `path`.
Result<HookRun> PlanHook(HookKind hook, std::string container, const LifecycleHandler& handler,
                         Clock::TimePoint now, std::optional<std::chrono::seconds> grace,
                         std::string_view path = "lifecycle");

// The HookFinished event's exitCode for an httpGet hook: 0 when the status was 200-399, else 1.
int HttpHookExitCode(const ProbeOutcome& outcome);

// A failing postStart (non-zero exit, or abandoned) kills the container, as kubelet does
// (FailedPostStartHook); the restart rules then apply. A preStop's result does not matter.
bool PostStartKillsContainer(std::optional<int> exit_code);

// How a hook ended: the HookFinished event, and how long it ran.
struct HookFinished {
  HookKind hook;
  std::string container;
  std::optional<int> exit_code;  // nullopt: abandoned at its deadline
  Clock::Duration took{};

  bool operator==(const HookFinished&) const = default;
};

// The hooks in flight, at most one per container (a container runs its postStart, then maybe
// later its preStop). Time from a Clock; no I/O. The grace bookkeeping is not done here: when a
// preStop ends (Finished, or abandoned by DueAt), the caller tells signals::TerminationPlan
// OnPreStopFinished, and the plan takes the whole seconds it ran out of that container's grace
// (kubelet: grace -= int(took.Seconds()); a 2.7 s hook costs 2 s) before the stop signal; the plan
// also abandons a hook at the container's grace deadline on its own.
class RunningHooks {
 public:
  explicit RunningHooks(const Clock& clock) : clock_(&clock) {}

  // Records the start (the HookStarted event). A hook already running for the container is
  // replaced (its late result will be ignored).
  void Started(const HookRun& run);
  // An exec or httpGet hook returned `exit_code`. nullopt when the container has no hook of that
  // kind in flight (already abandoned, cancelled, or never started).
  std::optional<HookFinished> Finished(std::string_view container, HookKind hook, int exit_code);
  // Sleep hooks whose time is up (exit 0) and hooks past their deadline (abandoned), at `now`.
  std::vector<HookFinished> DueAt(Clock::TimePoint now);
  // The container exited or was killed: its hook is dropped without an event.
  void Cancel(std::string_view container);
  // The earliest sleep end or deadline; nullopt when none.
  std::optional<Clock::TimePoint> NextDeadline() const;
  bool Running(std::string_view container) const;
  bool Running(std::string_view container, HookKind hook) const;

 private:
  struct Entry {
    HookKind hook;
    std::string container;
    Clock::TimePoint started_at;
    std::optional<Clock::TimePoint> sleep_until;
    std::optional<Clock::TimePoint> deadline;
  };
  const Clock* clock_;
  std::vector<Entry> entries_;
};

}  // namespace podshim::shim
