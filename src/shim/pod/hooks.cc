#include "shim/pod/hooks.h"

#include <algorithm>
#include <utility>

#include "shim/manifest/handler_check.h"

namespace podshim::shim {

std::string_view HookKindName(HookKind kind) {
  return kind == HookKind::kPostStart ? "postStart" : "preStop";
}

Result<HookRun> PlanHook(HookKind hook, std::string container, const LifecycleHandler& handler,
                         Clock::TimePoint now, std::optional<std::chrono::seconds> grace,
                         std::string_view path) {
  PODSHIM_TRY(
      ValidateLifecycleHandler(handler, std::string(path) + "." + std::string(HookKindName(hook))));
  HookRun run{.hook = hook,
              .container = std::move(container),
              .step = HookSleepStep{now},
              .started_at = now,
              .deadline = std::nullopt};
  if (hook == HookKind::kPreStop && grace) run.deadline = now + *grace;

  if (const auto* e = std::get_if<ExecAction>(&handler)) {
    run.step = HookExecStep{e->command};
  } else if (const auto* h = std::get_if<HttpGetAction>(&handler)) {
    // An httpGet hook has no timeout of its own: it may run until the hook's deadline. Without a
    // deadline (postStart) the runner still needs one; kubelet's HTTP client gives up after 10 s.
    Clock::Duration timeout =
        run.deadline ? *run.deadline - now : Clock::Duration(std::chrono::seconds(10));
    run.step = HookHttpStep{*h, timeout};
  } else {
    const auto& s = std::get<SleepAction>(handler);
    run.step = HookSleepStep{now + s.duration};
  }
  return run;
}

int HttpHookExitCode(const ProbeOutcome& outcome) { return outcome.success ? 0 : 1; }

bool PostStartKillsContainer(std::optional<int> exit_code) { return !exit_code || *exit_code != 0; }

void RunningHooks::Started(const HookRun& run) {
  Cancel(run.container);
  Entry e{.hook = run.hook,
          .container = run.container,
          .started_at = run.started_at,
          .sleep_until = std::nullopt,
          .deadline = run.deadline};
  if (const auto* s = std::get_if<HookSleepStep>(&run.step)) e.sleep_until = s->until;
  entries_.push_back(std::move(e));
}

std::optional<HookFinished> RunningHooks::Finished(std::string_view container, HookKind hook,
                                                   int exit_code) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.container == container && e.hook == hook;
  });
  if (it == entries_.end()) return std::nullopt;
  HookFinished f{.hook = it->hook,
                 .container = it->container,
                 .exit_code = exit_code,
                 .took = clock_->Now() - it->started_at};
  entries_.erase(it);
  return f;
}

std::vector<HookFinished> RunningHooks::DueAt(Clock::TimePoint now) {
  std::vector<HookFinished> out;
  auto it = entries_.begin();
  while (it != entries_.end()) {
    // A sleep that would end after the deadline is cut there: abandoned, like any other hook.
    bool abandoned = it->deadline && *it->deadline <= now &&
                     (!it->sleep_until || *it->sleep_until > *it->deadline);
    bool slept = !abandoned && it->sleep_until && *it->sleep_until <= now;
    if (!abandoned && !slept) {
      ++it;
      continue;
    }
    Clock::TimePoint end = abandoned ? *it->deadline : *it->sleep_until;
    out.push_back({.hook = it->hook,
                   .container = it->container,
                   .exit_code = abandoned ? std::nullopt : std::optional(0),
                   .took = end - it->started_at});
    it = entries_.erase(it);
  }
  return out;
}

void RunningHooks::Cancel(std::string_view container) {
  std::erase_if(entries_, [&](const Entry& e) { return e.container == container; });
}

std::optional<Clock::TimePoint> RunningHooks::NextDeadline() const {
  std::optional<Clock::TimePoint> next;
  for (const Entry& e : entries_) {
    for (const auto& t : {e.sleep_until, e.deadline}) {
      if (t && (!next || *t < *next)) next = *t;
    }
  }
  return next;
}

bool RunningHooks::Running(std::string_view container) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.container == container; });
}

bool RunningHooks::Running(std::string_view container, HookKind hook) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.container == container && e.hook == hook; });
}

}  // namespace podshim::shim
