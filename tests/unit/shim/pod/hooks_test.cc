#include "shim/pod/hooks.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

#include "fixtures/fakes/fake_clock.h"
#include "signals/termination_plan.h"

namespace podshim::shim {
namespace {

using namespace std::chrono_literals;

LifecycleHandler Sleep(std::chrono::seconds s) {
  SleepAction a;
  a.duration = s;
  return a;
}

TEST(PlanHookTest, EachHandlerKind) {
  FakeClock clock;
  auto now = clock.Now();
  auto exec =
      PlanHook(HookKind::kPostStart, "web", ExecAction{{"/bin/touch", "/started"}}, now, 30s);
  ASSERT_TRUE(exec);
  EXPECT_EQ(std::get<HookExecStep>(exec->step).argv,
            (std::vector<std::string>{"/bin/touch", "/started"}));
  EXPECT_EQ(exec->deadline, std::nullopt);  // postStart has no deadline

  HttpGetAction http;
  http.port = 8080;
  http.path = "/shutdown";
  auto stop = PlanHook(HookKind::kPreStop, "web", http, now, 30s);
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->deadline, std::optional(now + 30s));
  EXPECT_EQ(std::get<HookHttpStep>(stop->step).timeout, Clock::Duration(30s));
  EXPECT_EQ(std::get<HookHttpStep>(stop->step).action.path, "/shutdown");

  auto sleep = PlanHook(HookKind::kPreStop, "web", Sleep(5s), now, 30s);
  ASSERT_TRUE(sleep);
  EXPECT_EQ(std::get<HookSleepStep>(sleep->step).until, now + 5s);
}

TEST(PlanHookTest, BadHandlersNameTheField) {
  FakeClock clock;
  auto empty = PlanHook(HookKind::kPostStart, "web", ExecAction{}, clock.Now(), std::nullopt,
                        "spec.containers[0].lifecycle");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().context(),
            "spec.containers[0].lifecycle.postStart.exec.command: must not be empty");
  HttpGetAction named;
  named.port = 443;
  named.host = "db.example";
  auto h = PlanHook(HookKind::kPreStop, "web", named, clock.Now(), 30s, "l");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_NE(h.error().context().find("l.preStop.httpGet.host"), std::string::npos);
  HttpGetAction https;  // HTTPS hooks run (TLS, certificate not verified)
  https.port = 443;
  https.scheme = HttpScheme::kHttps;
  EXPECT_TRUE(PlanHook(HookKind::kPreStop, "web", https, clock.Now(), 30s, "l"));
}

TEST(HookOutcomeTest, ExitCodesAndPostStartFailure) {
  EXPECT_EQ(HttpHookExitCode({true, "HTTP 200"}), 0);
  EXPECT_EQ(HttpHookExitCode({false, "HTTP probe failed with statuscode: 500"}), 1);
  EXPECT_FALSE(PostStartKillsContainer(0));
  EXPECT_TRUE(PostStartKillsContainer(2));
  EXPECT_TRUE(PostStartKillsContainer(std::nullopt));
}

TEST(RunningHooksTest, SleepHookIsADeadline) {
  FakeClock clock;
  RunningHooks hooks(clock);
  auto run = PlanHook(HookKind::kPostStart, "web", Sleep(3s), clock.Now(), std::nullopt);
  ASSERT_TRUE(run);
  hooks.Started(*run);
  EXPECT_TRUE(hooks.Running("web"));
  EXPECT_EQ(hooks.NextDeadline(), std::optional(clock.Now() + 3s));
  clock.Advance(2s);
  EXPECT_TRUE(hooks.DueAt(clock.Now()).empty());
  clock.Advance(1s);
  auto done = hooks.DueAt(clock.Now());
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], (HookFinished{HookKind::kPostStart, "web", 0, 3s}));
  EXPECT_FALSE(hooks.Running("web"));
  EXPECT_EQ(hooks.NextDeadline(), std::nullopt);
}

TEST(RunningHooksTest, ExecFinishesOrIsAbandonedAtTheDeadline) {
  FakeClock clock;
  RunningHooks hooks(clock);
  hooks.Started(*PlanHook(HookKind::kPreStop, "a", ExecAction{{"/bin/a"}}, clock.Now(), 5s));
  hooks.Started(*PlanHook(HookKind::kPreStop, "b", ExecAction{{"/bin/b"}}, clock.Now(), 5s));
  hooks.Started(*PlanHook(HookKind::kPreStop, "c", Sleep(60s), clock.Now(), 5s));
  clock.Advance(1500ms);
  auto a = hooks.Finished("a", HookKind::kPreStop, 3);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->exit_code, std::optional(3));
  EXPECT_EQ(a->took, Clock::Duration(1500ms));
  EXPECT_EQ(hooks.Finished("a", HookKind::kPreStop, 0), std::nullopt);  // only once
  clock.Advance(3500ms);
  auto cut = hooks.DueAt(clock.Now());
  ASSERT_EQ(cut.size(), 2u);
  for (const auto& f : cut) {
    EXPECT_EQ(f.exit_code, std::nullopt) << f.container;  // abandoned
    EXPECT_EQ(f.took, Clock::Duration(5s));
  }
  // A result after the hook was abandoned is ignored.
  EXPECT_EQ(hooks.Finished("b", HookKind::kPreStop, 0), std::nullopt);
}

TEST(RunningHooksTest, CancelDropsWithoutEvent) {
  FakeClock clock;
  RunningHooks hooks(clock);
  hooks.Started(*PlanHook(HookKind::kPostStart, "web", ExecAction{{"/bin/x"}}, clock.Now(), {}));
  hooks.Cancel("web");
  EXPECT_FALSE(hooks.Running("web"));
  EXPECT_EQ(hooks.Finished("web", HookKind::kPostStart, 0), std::nullopt);
}

// The preStop's time comes out of the container's grace: with grace 10 s and a 2.7 s sleep hook,
// the termination plan sends SIGTERM when the hook ends and SIGKILL 10 - 2 = 8 s later (whole
// seconds, as kubelet counts).
TEST(RunningHooksTest, PreStopTimeComesOutOfTheGrace) {
  FakeClock clock;
  auto plan = signals::TerminationPlan::Create(clock,
                                               {{.name = "web",
                                                 .role = signals::ContainerRole::kApp,
                                                 .running = true,
                                                 .has_prestop = true,
                                                 .stop_signal = SIGTERM,
                                                 .grace = std::nullopt}},
                                               10s);
  ASSERT_TRUE(plan);
  auto t0 = clock.Now();
  auto first = plan->Start();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(first[0].kind, signals::TerminationAction::Kind::kStartPreStop);

  RunningHooks hooks(clock);
  // A sleep handler of 2.7 s cannot be written in a manifest (whole seconds); an exec that takes
  // 2.7 s ends the same way.
  hooks.Started(*PlanHook(HookKind::kPreStop, "web", ExecAction{{"/bin/drain"}}, t0, 10s));
  clock.Advance(2700ms);
  auto finished = hooks.Finished("web", HookKind::kPreStop, 0);
  ASSERT_TRUE(finished);
  auto actions = plan->OnPreStopFinished(finished->container);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, signals::TerminationAction::Kind::kSignal);
  EXPECT_EQ(plan->NextDeadline(), std::optional(t0 + 2700ms + 8s));
}

}  // namespace
}  // namespace podshim::shim
