#include "signals/termination_plan.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fixtures/fakes/fake_clock.h"

namespace podshim::signals {

// Readable gtest failure messages.
void PrintTo(const TerminationAction& a, std::ostream* os) {
  *os << (a.kind == TerminationAction::Kind::kStartPreStop ? "prestop"
          : a.kind == TerminationAction::Kind::kSignal     ? "signal"
                                                           : "kill")
      << "(" << a.container << ", " << a.signal << ")";
}

namespace {

using namespace std::chrono_literals;
using Kind = TerminationAction::Kind;
using TimePoint = Clock::TimePoint;

TerminationContainer App(std::string name, bool prestop = false) {
  return {.name = std::move(name),
          .role = ContainerRole::kApp,
          .running = true,
          .has_prestop = prestop};
}
TerminationContainer Sidecar(std::string name, bool prestop = false) {
  return {.name = std::move(name),
          .role = ContainerRole::kSidecar,
          .running = true,
          .has_prestop = prestop};
}
TerminationContainer NotRunning(TerminationContainer c) {
  c.running = false;
  return c;
}

TerminationAction PreStop(std::string c) { return {Kind::kStartPreStop, std::move(c), 0}; }
TerminationAction Term(std::string c) { return {Kind::kSignal, std::move(c), SIGTERM}; }
TerminationAction Kill(std::string c) { return {Kind::kKill, std::move(c), SIGKILL}; }

// Drives a plan the way the shim's event loop does: jumps the fake clock to the next deadline
// or scheduled exit, delivers exits first, then the deadline. Containers exit a set time after
// their stop signal (or never), and right after a kill.
class Simulation {
 public:
  Simulation(std::vector<TerminationContainer> containers, std::chrono::seconds grace) {
    auto plan = TerminationPlan::Create(clock_, std::move(containers), grace);
    EXPECT_TRUE(plan) << plan.error().ToString();
    plan_.emplace(std::move(*plan));
    t0_ = clock_.Now();
  }

  void ExitAfterSignal(const std::string& name, Clock::Duration d) { exit_after_[name] = d; }
  void ExitAt(const std::string& name, Clock::Duration since_t0) {
    pending_exits_.emplace(name, t0_ + since_t0);
  }

  void Start() { Record(plan_->Start()); }

  // Runs until the plan is done, nothing more can happen, or `limit` after t0.
  void RunFor(Clock::Duration limit) {
    while (!plan_->Done()) {
      std::optional<TimePoint> next = plan_->NextDeadline();
      for (const auto& [name, at] : pending_exits_) {
        if (!next || at < *next) next = at;
      }
      if (!next || *next > t0_ + limit) return;
      clock_.AdvanceTo(*next);
      for (auto it = pending_exits_.begin(); it != pending_exits_.end();) {
        if (it->second <= clock_.Now()) {
          std::string name = it->first;
          it = pending_exits_.erase(it);
          Record(plan_->OnContainerExited(name));
        } else {
          ++it;
        }
      }
      Record(plan_->OnDeadline());
    }
  }

  // Actions with their time since t0.
  struct Timed {
    Clock::Duration at;
    TerminationAction action;
  };
  const std::vector<Timed>& log() const { return log_; }
  std::optional<Clock::Duration> TimeOf(const TerminationAction& a) const {
    for (const Timed& t : log_) {
      if (t.action == a) return t.at;
    }
    return std::nullopt;
  }
  TerminationPlan& plan() { return *plan_; }
  FakeClock& clock() { return clock_; }
  TimePoint t0() const { return t0_; }

 private:
  void Record(const std::vector<TerminationAction>& actions) {
    for (const TerminationAction& a : actions) {
      log_.push_back({clock_.Now() - t0_, a});
      if (a.kind == Kind::kSignal && exit_after_.contains(a.container)) {
        pending_exits_.emplace(a.container, clock_.Now() + exit_after_[a.container]);
      }
      if (a.kind == Kind::kKill) pending_exits_.emplace(a.container, clock_.Now());
    }
  }

  FakeClock clock_;
  std::optional<TerminationPlan> plan_;
  TimePoint t0_;
  std::map<std::string, Clock::Duration> exit_after_;
  std::multimap<std::string, TimePoint> pending_exits_;
  std::vector<Timed> log_;
};

// --- k8s-vectors.json: termination_order_vectors ---------------------------------------------

// "sc1(sidecar)" -> sidecar sc1; "init" -> regular init container "init".
TerminationContainer ParseVectorInit(const std::string& text) {
  const auto paren = text.find('(');
  if (paren == std::string::npos)
    return {.name = text, .role = ContainerRole::kInit, .running = true};
  const std::string kind = text.substr(paren + 1, text.size() - paren - 2);
  EXPECT_EQ(kind, "sidecar") << text;
  return Sidecar(text.substr(0, paren));
}

std::chrono::nanoseconds Seconds(const nlohmann::json& v) {
  return std::chrono::nanoseconds(static_cast<int64_t>(v.get<double>() * 1e9));
}

TEST(TerminationPlanTest, ReproducesEveryTerminationOrderVector) {
  const std::string path = PODSHIM_SOURCE_DIR "/tests/fixtures/data/k8s-vectors.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << path << " is not valid JSON";
  const nlohmann::json& cases = doc["termination_order_vectors"]["cases"];
  ASSERT_TRUE(cases.is_array());
  ASSERT_GE(cases.size(), 3u);

  for (const nlohmann::json& c : cases) {
    const std::string test = c["test"].get<std::string>();
    SCOPED_TRACE(test);
    std::vector<TerminationContainer> containers;
    for (const auto& s : c["init"]) containers.push_back(ParseVectorInit(s.get<std::string>()));
    for (const auto& s : c["containers"]) containers.push_back(App(s.get<std::string>()));

    std::chrono::seconds pod_grace{0};
    if (c["grace_s"].is_number()) {
      pod_grace = std::chrono::seconds(c["grace_s"].get<int>());
    } else {
      for (auto& tc : containers) {
        tc.grace = std::chrono::seconds(c["grace_s"].at(tc.name).get<int>());
      }
    }
    Simulation sim(containers, pod_grace);
    for (const auto& tc : containers) {
      const nlohmann::json& exit = c["exit_after_turn_s"];
      if (exit.is_number()) {
        sim.ExitAfterSignal(tc.name, Seconds(exit));
      } else if (exit.contains(tc.name)) {
        sim.ExitAfterSignal(tc.name, Seconds(exit[tc.name]));
      }
    }
    sim.Start();
    sim.RunFor(120s);

    ASSERT_TRUE(c["expected_wait_s"].is_object());
    for (const auto& [name, expected] : c["expected_wait_s"].items()) {
      auto waited = sim.plan().WaitedForTurn(name);
      ASSERT_TRUE(waited) << name << " never had its turn";
      // The vectors give the wait truncated to whole seconds, as waitForTurn returns it.
      EXPECT_EQ(std::chrono::floor<std::chrono::seconds>(*waited).count(), expected.get<int>())
          << name;
    }
  }
}

// --- timeline ----------------------------------------------------------------------------------

TEST(TerminationPlanTest, AppGetsStopSignalAtOnceAndSigkillAtGrace) {
  FakeClock clock;
  auto plan = TerminationPlan::Create(clock, {App("web")}, 30s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), std::vector{Term("web")});
  EXPECT_EQ(plan->NextDeadline(), clock.Now() + 30s);
  clock.Advance(29s + 999ms);
  EXPECT_TRUE(plan->OnDeadline().empty());
  EXPECT_EQ(plan->Phase("web"), TerminationPhase::kStopping);
  clock.Advance(1ms);
  EXPECT_EQ(plan->OnDeadline(), std::vector{Kill("web")});
  EXPECT_EQ(plan->Phase("web"), TerminationPhase::kKilled);
  EXPECT_FALSE(plan->NextDeadline());
  EXPECT_FALSE(plan->Done());
  EXPECT_TRUE(plan->OnContainerExited("web").empty());
  EXPECT_TRUE(plan->Done());
}

TEST(TerminationPlanTest, HugeGraceIsClampedSoSigkillStillFollowsTheSignal) {
  const std::chrono::seconds kHundredYears(3'155'760'000);  // kMaxGracePeriod
  FakeClock clock;
  TerminationContainer own = App("own");
  own.grace = std::chrono::seconds::max();
  auto plan = TerminationPlan::Create(clock, {App("web"), own}, std::chrono::seconds::max());
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), (std::vector{Term("web"), Term("own")}));
  EXPECT_EQ(plan->NextDeadline(), clock.Now() + kHundredYears);
  EXPECT_TRUE(plan->OnDeadline().empty());  // not killed at once
  clock.Advance(kHundredYears);
  EXPECT_EQ(plan->OnDeadline(), (std::vector{Kill("web"), Kill("own")}));
}

TEST(TerminationPlanTest, CustomStopSignalIsSent) {
  FakeClock clock;
  TerminationContainer nginx = App("nginx");
  nginx.stop_signal = SIGQUIT;
  auto plan = TerminationPlan::Create(clock, {nginx}, 30s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), (std::vector<TerminationAction>{{Kind::kSignal, "nginx", SIGQUIT}}));
}

TEST(TerminationPlanTest, SidecarsStopInReverseOrderAfterEveryApp) {
  Simulation sim({Sidecar("sc1"), Sidecar("sc2"), App("a"), App("b")}, 30s);
  for (const char* n : {"sc1", "sc2"}) sim.ExitAfterSignal(n, 500ms);
  sim.ExitAfterSignal("a", 1s);
  sim.ExitAfterSignal("b", 3s);
  sim.Start();
  sim.RunFor(60s);
  EXPECT_TRUE(sim.plan().Done());
  EXPECT_EQ(sim.TimeOf(Term("a")), 0s);
  EXPECT_EQ(sim.TimeOf(Term("b")), 0s);
  EXPECT_EQ(sim.TimeOf(Term("sc2")), 3s);  // after the last app exits
  EXPECT_EQ(sim.TimeOf(Term("sc1")), 3500ms);
  for (const char* n : {"a", "b", "sc1", "sc2"}) EXPECT_FALSE(sim.TimeOf(Kill(n))) << n;
  EXPECT_EQ(*sim.plan().WaitedForTurn("sc1"), 3500ms);
  EXPECT_EQ(*sim.plan().WaitedForTurn("a"), 0s);
}

TEST(TerminationPlanTest, EveryPreStopStartsAtOnceAndAppWaitsForItsHook) {
  FakeClock clock;
  auto plan = TerminationPlan::Create(
      clock, {Sidecar("sc1", true), Sidecar("sc2", true), App("web", true), App("db")}, 30s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(),
            (std::vector{PreStop("sc1"), PreStop("sc2"), PreStop("web"), Term("db")}));
  clock.Advance(1s);
  EXPECT_EQ(plan->OnPreStopFinished("web"), std::vector{Term("web")});
  EXPECT_EQ(plan->Phase("sc2"), TerminationPhase::kPreStop);
  EXPECT_TRUE(plan->OnContainerExited("web").empty());
  // The sidecar's own hook is still running: its turn has come but the signal waits for the hook.
  EXPECT_TRUE(plan->OnContainerExited("db").empty());
  clock.Advance(1s);
  EXPECT_EQ(plan->OnPreStopFinished("sc2"), std::vector{Term("sc2")});
  EXPECT_EQ(plan->Phase("sc1"), TerminationPhase::kPreStop);
  EXPECT_TRUE(plan->OnPreStopFinished("sc1").empty());
  EXPECT_EQ(plan->Phase("sc1"), TerminationPhase::kWaitingForTurn);
  EXPECT_EQ(plan->OnContainerExited("sc2"), std::vector{Term("sc1")});
}

TEST(TerminationPlanTest, PreStopTimeIsTakenFromGraceInWholeSeconds) {
  FakeClock clock;
  auto plan = TerminationPlan::Create(clock, {App("web", true)}, 10s);
  ASSERT_TRUE(plan);
  const TimePoint t0 = clock.Now();
  EXPECT_EQ(plan->Start(), std::vector{PreStop("web")});
  EXPECT_EQ(plan->NextDeadline(), t0 + 10s);  // the hook is bounded by the grace
  clock.Advance(3500ms);
  EXPECT_EQ(plan->OnPreStopFinished("web"), std::vector{Term("web")});
  EXPECT_EQ(plan->SignalledAt("web"), t0 + 3500ms);
  // 10 s - 3 s (3.5 s truncated, as kubelet does) = 7 s after the signal.
  EXPECT_EQ(plan->NextDeadline(), t0 + 10500ms);
  clock.Advance(7s);
  EXPECT_EQ(plan->OnDeadline(), std::vector{Kill("web")});
}

TEST(TerminationPlanTest, HookThatNeverEndsIsAbandonedAtGraceThenTwoSecondsToSigkill) {
  Simulation sim({Sidecar("sc", true), App("web", true)}, 30s);
  sim.Start();
  sim.RunFor(60s);
  EXPECT_EQ(sim.TimeOf(PreStop("sc")), 0s);
  EXPECT_EQ(sim.TimeOf(PreStop("web")), 0s);
  EXPECT_EQ(sim.TimeOf(Term("web")), 30s);
  EXPECT_EQ(sim.TimeOf(Term("sc")), 30s);
  EXPECT_EQ(sim.TimeOf(Kill("web")), 32s);
  EXPECT_EQ(sim.TimeOf(Kill("sc")), 32s);
  EXPECT_TRUE(sim.plan().Done());
  // A hook reporting back after it was abandoned changes nothing.
  EXPECT_TRUE(sim.plan().OnPreStopFinished("sc").empty());
}

TEST(TerminationPlanTest, SidecarStillWaitingAtGraceGetsSigkillExactlyTwoSecondsAfterSignal) {
  FakeClock clock;
  auto plan = TerminationPlan::Create(clock, {Sidecar("proxy"), App("stubborn")}, 30s);
  ASSERT_TRUE(plan);
  const TimePoint t0 = clock.Now();
  EXPECT_EQ(plan->Start(), std::vector{Term("stubborn")});
  EXPECT_EQ(plan->NextDeadline(), t0 + 30s);
  clock.Advance(30s);
  EXPECT_EQ(plan->OnDeadline(), (std::vector{Term("proxy"), Kill("stubborn")}));
  EXPECT_EQ(plan->NextDeadline(), t0 + 32s);
  clock.Advance(1999ms);
  EXPECT_TRUE(plan->OnDeadline().empty());
  clock.Advance(1ms);
  EXPECT_EQ(plan->OnDeadline(), std::vector{Kill("proxy")});
}

TEST(TerminationPlanTest, GraceBelowTwoSecondsStillAllowsTwoSecondsAfterSignal) {
  FakeClock clock;
  auto plan = TerminationPlan::Create(clock, {App("web")}, 1s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), std::vector{Term("web")});
  EXPECT_EQ(plan->NextDeadline(), clock.Now() + 2s);
}

TEST(TerminationPlanTest, ZeroGraceSkipsHooksAndWaits) {
  FakeClock clock;
  auto plan = TerminationPlan::Create(clock, {Sidecar("sc", true), App("web", true)}, 0s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), (std::vector{Term("sc"), Term("web")}));
  EXPECT_EQ(plan->NextDeadline(), clock.Now() + 2s);
}

TEST(TerminationPlanTest, ContainersNotRunningDelayNothing) {
  FakeClock clock;
  // sc3 never started; the app already exited: sc2 stops at once, then sc1; no hooks run for
  // the containers that are not running.
  auto plan =
      TerminationPlan::Create(clock,
                              {Sidecar("sc1"), Sidecar("sc2"), NotRunning(Sidecar("sc3", true)),
                               NotRunning(App("job", true))},
                              30s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), (std::vector{Term("sc2")}));
  EXPECT_EQ(plan->Phase("sc3"), TerminationPhase::kExited);
  EXPECT_EQ(plan->Phase("job"), TerminationPhase::kExited);
  EXPECT_EQ(plan->Phase("sc1"), TerminationPhase::kWaitingForTurn);
  clock.Advance(1s);
  EXPECT_EQ(plan->OnContainerExited("sc2"), std::vector{Term("sc1")});
}

TEST(TerminationPlanTest, SidecarSkipsANotRunningNextSidecar) {
  FakeClock clock;
  // kubelet's sc1 waits only for the next sidecar (sc2), which is not running: sc1 and sc3 both
  // stop once the app has gone.
  auto plan = TerminationPlan::Create(
      clock, {Sidecar("sc1"), NotRunning(Sidecar("sc2")), Sidecar("sc3"), App("web")}, 30s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), std::vector{Term("web")});
  EXPECT_EQ(plan->OnContainerExited("web"), (std::vector{Term("sc1"), Term("sc3")}));
}

TEST(TerminationPlanTest, RegularInitContainerStopsAtOnceAndNobodyWaitsForIt) {
  FakeClock clock;
  auto plan =
      TerminationPlan::Create(clock,
                              {Sidecar("sc"),
                               {.name = "migrate", .role = ContainerRole::kInit, .running = true},
                               NotRunning(App("web"))},
                              30s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), (std::vector{Term("sc"), Term("migrate")}));
}

TEST(TerminationPlanTest, EverythingExitedEarlyIsDone) {
  FakeClock clock;
  auto plan = TerminationPlan::Create(clock, {Sidecar("sc", true), App("web")}, 30s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), (std::vector{PreStop("sc"), Term("web")}));
  clock.Advance(2s);
  EXPECT_TRUE(plan->OnContainerExited("web").empty());
  // The sidecar exits on its own during its hook: no signal is sent to it afterwards.
  EXPECT_TRUE(plan->OnContainerExited("sc").empty());
  EXPECT_TRUE(plan->Done());
  EXPECT_FALSE(plan->NextDeadline());
  clock.Advance(60s);
  EXPECT_TRUE(plan->OnDeadline().empty());
  EXPECT_TRUE(plan->OnPreStopFinished("sc").empty());
}

TEST(TerminationPlanTest, NothingRunningIsDoneAtStart) {
  FakeClock clock;
  auto plan =
      TerminationPlan::Create(clock, {NotRunning(App("web")), NotRunning(Sidecar("sc"))}, 30s);
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->Start().empty());
  EXPECT_TRUE(plan->Done());
  EXPECT_FALSE(plan->NextDeadline());
}

TEST(TerminationPlanTest, UnknownNamesAndRepeatedEventsAreIgnored) {
  FakeClock clock;
  auto plan = TerminationPlan::Create(clock, {App("web")}, 30s);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Start(), std::vector{Term("web")});
  EXPECT_TRUE(plan->Start().empty());
  EXPECT_TRUE(plan->OnContainerExited("ghost").empty());
  EXPECT_FALSE(plan->Phase("ghost"));
  EXPECT_TRUE(plan->OnContainerExited("web").empty());
  EXPECT_TRUE(plan->OnContainerExited("web").empty());
  EXPECT_TRUE(plan->Done());
}

TEST(TerminationPlanTest, PerContainerGraceOverridesPodGrace) {
  FakeClock clock;
  TerminationContainer probed = App("probed");
  probed.grace = 5s;
  auto plan = TerminationPlan::Create(clock, {probed, App("other")}, 30s);
  ASSERT_TRUE(plan);
  const TimePoint t0 = clock.Now();
  EXPECT_EQ(plan->Start(), (std::vector{Term("probed"), Term("other")}));
  EXPECT_EQ(plan->NextDeadline(), t0 + 5s);
  clock.Advance(5s);
  EXPECT_EQ(plan->OnDeadline(), std::vector{Kill("probed")});
  EXPECT_EQ(plan->NextDeadline(), t0 + 30s);
}

TEST(TerminationPlanTest, RejectsBadInput) {
  FakeClock clock;
  auto dup = TerminationPlan::Create(clock, {App("web"), Sidecar("web")}, 30s);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kInvalidSpec);
  EXPECT_NE(dup.error().ToString().find("\"web\""), std::string::npos) << dup.error().ToString();

  auto unnamed = TerminationPlan::Create(clock, {App("")}, 30s);
  ASSERT_FALSE(unnamed);
  EXPECT_NE(unnamed.error().ToString().find("no name"), std::string::npos);

  auto negative = TerminationPlan::Create(clock, {App("web")}, -1s);
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().ToString().find("grace"), std::string::npos);

  TerminationContainer bad_signal = App("web");
  bad_signal.stop_signal = 0;
  EXPECT_FALSE(TerminationPlan::Create(clock, {bad_signal}, 30s));
}

TEST(TerminationPlanTest, NamesInErrorsAreEscaped) {
  FakeClock clock;
  auto dup = TerminationPlan::Create(clock, {App("w\neb\xff"), Sidecar("w\neb\xff")}, 30s);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().context(), "termination plan: container name \"w\\neb\\xff\" is repeated");
}

TEST(TerminationPlanTest, PhaseNamesAreDistinct) {
  EXPECT_EQ(TerminationPhaseName(TerminationPhase::kPreStop), "prestop");
  EXPECT_EQ(TerminationPhaseName(TerminationPhase::kWaitingForTurn), "waiting-for-turn");
  EXPECT_EQ(TerminationPhaseName(TerminationPhase::kStopping), "stopping");
  EXPECT_EQ(TerminationPhaseName(TerminationPhase::kKilled), "killed");
  EXPECT_EQ(TerminationPhaseName(TerminationPhase::kExited), "exited");
}

}  // namespace
}  // namespace podshim::signals
