// Supervisor scripts: each test plays the shim's part (reporting starts, exits, hook ends,
// deadlines) with a FakeClock and checks the actions, events and phases that come out.
#include "shim/pod/supervisor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fixtures/fakes/fake_clock.h"
#include "unit/shim/pod/supervisor_fixture.h"

namespace podshim::shim {
namespace {

using namespace supervisor_test;  // NOLINT: the fixture and its plan builders

// --- Startup ordering (SEMANTICS 3.1) ---

TEST_F(SupervisorTest, RegularInitContainersRunOneByOne) {
  Make(Pod(PodRestartPolicy::kAlways, {Init("init1"), Init("init2"), App("app")}));
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch init1 #0"));
  Running("init1");
  EXPECT_THAT(Ops(), IsEmpty());  // init2 waits for init1 to exit
  Exit("init1", 0);
  EXPECT_THAT(Ops(), ElementsAre("Launch init2 #0"));
  Running("init2");
  EXPECT_EQ(sup().Phase(), PodPhase::kPending);
  Exit("init2", 0);
  EXPECT_THAT(Ops(), ElementsAre("Launch app #0"));
  EXPECT_EQ(sup().Phase(), PodPhase::kPending);  // app not running yet
  Running("app");
  EXPECT_EQ(sup().Phase(), PodPhase::kRunning);
  EXPECT_TRUE(sup().Snapshot().initialized);
  EXPECT_TRUE(Status("init1").ready);  // a regular init is "ready" once it exited 0
}

TEST_F(SupervisorTest, SidecarStartsBeforeTheNextInitAndKeepsRunning) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("proxy"), Init("setup"), App("app")}));
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch proxy #0"));
  Running("proxy");
  // The sidecar counts as started once it runs (no startupProbe): the next init starts now.
  EXPECT_THAT(All(), ElementsAre("Emit ContainerStarted proxy pid=1000 restartCount=0",
                                 "Emit ContainerStartupSucceeded proxy",
                                 "Emit ContainerReady proxy", "Launch setup #0"));
  Running("setup");
  EXPECT_EQ(Status("proxy").state.kind, StateSnapshot::Kind::kRunning);  // overlap
  EXPECT_EQ(sup().Phase(), PodPhase::kPending);
  Exit("setup", 0);
  EXPECT_THAT(Ops(), ElementsAre("Launch app #0"));
}

TEST_F(SupervisorTest, SidecarWithStartupProbeGatesTheNextContainerUntilItPasses) {
  ContainerPlan proxy = Sidecar("proxy");
  proxy.has_startup_probe = true;
  Make(Pod(PodRestartPolicy::kAlways, {proxy, App("app")}));
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch proxy #0"));
  Running("proxy");
  EXPECT_THAT(All(), ElementsAre("Emit ContainerStarted proxy pid=1000 restartCount=0"));
  EXPECT_FALSE(Status("proxy").started);
  EXPECT_EQ(sup().Phase(), PodPhase::kPending);  // a running-but-not-started sidecar
  ASSERT_TRUE(sup().OnStartupSucceeded("proxy").has_value());
  EXPECT_THAT(All(), ElementsAre("Emit ContainerStartupSucceeded proxy",
                                 "Emit ContainerReady proxy", "Launch app #0"));
  EXPECT_TRUE(Status("proxy").started);
  // A second (stale) result changes nothing.
  ASSERT_TRUE(sup().OnStartupSucceeded("proxy").has_value());
  EXPECT_THAT(All(), IsEmpty());
}

TEST_F(SupervisorTest, AppContainersStartAfterTheLastInitAllAtOnceInSpecOrder) {
  Make(Pod(PodRestartPolicy::kAlways,
           {Init("init"), Sidecar("sc"), App("a1"), App("a2"), App("a3")}));
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch init #0"));
  Running("init");
  Exit("init", 0);
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #0"));
  Running("sc");
  EXPECT_THAT(Ops(), ElementsAre("Launch a1 #0", "Launch a2 #0", "Launch a3 #0"));
}

TEST_F(SupervisorTest, PodWithoutInitContainersLaunchesAppsAtStart) {
  Make(Pod(PodRestartPolicy::kAlways, {App("a1"), App("a2")}));
  EXPECT_EQ(sup().Phase(), PodPhase::kPending);
  EXPECT_EQ(Status("a1").state.reason, "PodInitializing");
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch a1 #0", "Launch a2 #0"));
  EXPECT_EQ(Status("a1").state.reason, "ContainerCreating");
  EXPECT_EQ(sup().NextDeadline(), std::nullopt);  // nothing timed while all is well
}

TEST_F(SupervisorTest, SidecarCrashAfterItStartedDoesNotStopTheNextInit) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), Init("setup"), App("app")}));
  Start();
  Running("sc");
  Running("setup");
  All();
  Exit("sc", 1);
  EXPECT_THAT(Ops(), IsEmpty());  // restart after back-off; setup keeps running
  Exit("setup", 0);
  EXPECT_THAT(Ops(), ElementsAre("Launch app #0"));
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #1"));
}

TEST_F(SupervisorTest, SidecarThatDiesBeforeStartingIsRestartedAndStillGatesTheNext) {
  ContainerPlan sc = Sidecar("sc");
  sc.has_startup_probe = true;
  Make(Pod(PodRestartPolicy::kNever, {sc, Init("setup"), App("app")}));
  Start();
  Ops();
  Running("sc");
  Exit("sc", 2);
  EXPECT_THAT(Ops(), IsEmpty());
  EXPECT_EQ(UntilDeadline(), seconds(10));
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #1"));
  Running("sc");
  EXPECT_THAT(Ops(), IsEmpty());
  ASSERT_TRUE(sup().OnStartupSucceeded("sc").has_value());
  EXPECT_THAT(Ops(), ElementsAre("Launch setup #0"));
}

// --- Restarts (SEMANTICS 4.1) ---

TEST_F(SupervisorTest, SidecarIsRestartedUnderNeverWhateverItsExitCode) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), App("app")}));
  Start();
  Running("sc");
  Running("app");
  All();
  Exit("sc", 0);
  EXPECT_THAT(All(), ElementsAre("Emit ContainerExited sc exitCode=0 signal=null reason=Completed "
                                 "restartCount=0",
                                 "Emit ContainerNotReady sc", "Emit PodNotReady",
                                 "Emit ContainerBackOff sc delayMs=10000"));
  EXPECT_EQ(Status("sc").state.reason, "CrashLoopBackOff");
  EXPECT_EQ(sup().Phase(), PodPhase::kRunning);
  clock_.Advance(seconds(9));
  sup().OnDeadline();  // early: nothing
  EXPECT_THAT(Ops(), IsEmpty());
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #1"));
  Running("sc");
  EXPECT_THAT(Events(), ElementsAre("ContainerStarted sc", "ContainerStartupSucceeded sc",
                                    "ContainerReady sc", "PodReady"));
  Exit("sc", 1);
  EXPECT_THAT(Events(), ElementsAre("ContainerExited sc", "ContainerNotReady sc", "PodNotReady",
                                    "ContainerBackOff sc"));
  EXPECT_EQ(UntilDeadline(), seconds(20));
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #2"));
  EXPECT_EQ(Status("sc").restart_count, 2);
  ASSERT_TRUE(Status("sc").last_state.has_value());
  EXPECT_EQ(Status("sc").last_state->exit_code, 1);
}

struct AppRestartCase {
  PodRestartPolicy policy;
  int exit_code;
  bool restarted;
};

class AppRestartTest : public SupervisorTest,
                       public ::testing::WithParamInterface<AppRestartCase> {};

TEST_P(AppRestartTest, AppFollowsThePodRestartPolicy) {
  const AppRestartCase& c = GetParam();
  Make(Pod(c.policy, {App("app")}));
  Start();
  Running("app");
  All();
  Exit("app", c.exit_code);
  const std::vector<std::string> ops = Ops();
  if (c.restarted) {
    EXPECT_THAT(ops, IsEmpty());
    EXPECT_EQ(UntilDeadline(), seconds(10));
    FireDeadline();
    EXPECT_THAT(Ops(), ElementsAre("Launch app #1"));
    EXPECT_FALSE(sup().Terminating());
  } else {
    // Nothing else runs: the pod finishes at once.
    EXPECT_THAT(ops, ElementsAre(std::string("PodFinished ") +
                                 (c.exit_code == 0 ? "Succeeded (Completed)" : "Failed (Failed)")));
    EXPECT_TRUE(sup().Finished());
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, AppRestartTest,
                         ::testing::Values(AppRestartCase{PodRestartPolicy::kAlways, 0, true},
                                           AppRestartCase{PodRestartPolicy::kAlways, 1, true},
                                           AppRestartCase{PodRestartPolicy::kOnFailure, 0, false},
                                           AppRestartCase{PodRestartPolicy::kOnFailure, 1, true},
                                           AppRestartCase{PodRestartPolicy::kNever, 0, false},
                                           AppRestartCase{PodRestartPolicy::kNever, 1, false}));

// --- CrashLoopBackOff (SEMANTICS 4.2, 10) ---

TEST_F(SupervisorTest, BackOffDoublesToFiveMinutesAndResetsAfterTenMinutesOfRunning) {
  Make(Pod(PodRestartPolicy::kAlways, {App("app")}));
  Start();
  Ops();
  std::vector<int64_t> delays_ms;
  auto crash_after = [&](Clock::Duration run) {
    Running("app");
    clock_.Advance(run);
    Exit("app", 1);
    for (const SupervisorAction& a : sup().TakeActions()) {
      if (const auto* e = std::get_if<EmitAction>(&a); e && e->event.type == "ContainerBackOff") {
        delays_ms.push_back(std::get<int64_t>(*e->event.Field("delayMs")));
      }
    }
    FireDeadline();
    All();
  };
  for (int i = 0; i < 8; ++i) crash_after(seconds(1));
  EXPECT_THAT(delays_ms, ElementsAre(10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000));
  delays_ms.clear();
  crash_after(minutes(10) + seconds(1));
  crash_after(seconds(1));
  EXPECT_THAT(delays_ms, ElementsAre(10000, 20000));
  EXPECT_EQ(Status("app").restart_count, 10);
}

TEST_F(SupervisorTest, BackOffOptionsApply) {
  auto backoff = MakeBackoffOptions(seconds(1), seconds(3));
  ASSERT_TRUE(backoff.has_value());
  Make(Pod(PodRestartPolicy::kAlways, {App("app")}), SupervisorOptions{.backoff = *backoff});
  Start();
  for (seconds expected : {seconds(1), seconds(2), seconds(3), seconds(3)}) {
    Running("app");
    Exit("app", 1);
    EXPECT_EQ(UntilDeadline(), expected);
    FireDeadline();
  }
}

// --- Failures during initialization (SEMANTICS 3.2) ---

TEST_F(SupervisorTest, FailedInitUnderNeverFailsThePodAndNoAppStarts) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), Init("init"), App("app")}));
  Start();
  Running("sc");
  Running("init");
  All();
  Exit("init", 3);
  EXPECT_THAT(All(),
              ElementsAre("Emit ContainerExited init exitCode=3 signal=null reason=Error "
                          "restartCount=0",
                          "Emit TerminationStarted reason=Failed gracePeriodSeconds=30",
                          "Signal sc SIGTERM"));  // no app runs, so the sidecar need not wait
  EXPECT_EQ(sup().Phase(), PodPhase::kFailed);
  Killed("sc", SIGTERM);
  EXPECT_THAT(All(), ElementsAre("Emit ContainerExited sc exitCode=143 signal=SIGTERM reason=Error "
                                 "restartCount=0",
                                 "Emit ContainerNotReady sc", "Emit PodFinished phase=Failed",
                                 "PodFinished Failed (Failed)"));
  EXPECT_EQ(Status("app").state.kind, StateSnapshot::Kind::kWaiting);
  EXPECT_EQ(Status("app").restart_count, 0);
  EXPECT_EQ(sup().NextDeadline(), std::nullopt);
}

TEST_F(SupervisorTest, FailedInitUnderOnFailureIsRetriedWithBackOff) {
  Make(Pod(PodRestartPolicy::kOnFailure, {Init("init"), App("app")}));
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch init #0"));
  Running("init");
  Exit("init", 1);
  EXPECT_THAT(Ops(), IsEmpty());
  EXPECT_EQ(sup().Phase(), PodPhase::kPending);
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch init #1"));
  Running("init");
  Exit("init", 1);
  EXPECT_EQ(UntilDeadline(), seconds(20));
  FireDeadline();
  Running("init");
  Exit("init", 0);
  EXPECT_THAT(Ops(), ElementsAre("Launch init #2", "Launch app #0"));
  Running("app");
  EXPECT_EQ(sup().Phase(), PodPhase::kRunning);
}

TEST_F(SupervisorTest, FailedInitUnderAlwaysIsRetried) {
  Make(Pod(PodRestartPolicy::kAlways, {Init("init"), App("app")}));
  Start();
  Running("init");
  Exit("init", 1);
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch init #0", "Launch init #1"));
}

// --- Start failures ---

TEST_F(SupervisorTest, AppStartFailureUnderNeverFailsThePod) {
  Make(Pod(PodRestartPolicy::kNever, {App("app")}));
  Start();
  All();
  ASSERT_TRUE(sup().OnStartFailed("app", "exec /bin/nope: no such file").has_value());
  EXPECT_THAT(All(),
              ElementsAre("Emit ContainerStartFailed app message=exec /bin/nope: no such file "
                          "restartCount=0",
                          "Emit TerminationStarted reason=Failed gracePeriodSeconds=30",
                          "Emit PodFinished phase=Failed", "PodFinished Failed (Failed)"));
  const ContainerSnapshot& s = Status("app");
  EXPECT_EQ(s.state.reason, "StartError");
  EXPECT_EQ(s.state.exit_code, 128);
  EXPECT_EQ(s.state.message, "exec /bin/nope: no such file");
  EXPECT_FALSE(s.state.started_at.has_value());
}

TEST_F(SupervisorTest, OneAppFailingToStartDoesNotStopTheOthers) {
  Make(Pod(PodRestartPolicy::kAlways, {App("a1"), App("a2"), App("a3")}));
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch a1 #0", "Launch a2 #0", "Launch a3 #0"));
  Running("a1");
  ASSERT_TRUE(sup().OnStartFailed("a2", "pivot_root: EINVAL").has_value());
  Running("a3");
  EXPECT_THAT(Events(), ElementsAre("ContainerStarted a1", "ContainerStartupSucceeded a1",
                                    "ContainerReady a1", "ContainerStartFailed a2",
                                    "ContainerBackOff a2", "ContainerStarted a3",
                                    "ContainerStartupSucceeded a3", "ContainerReady a3"));
  EXPECT_EQ(Status("a2").last_state->reason, "StartError");
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch a2 #1"));
}

TEST_F(SupervisorTest, SidecarStartFailureIsRetriedAndHoldsBackTheNext) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), App("app")}));
  Start();
  Ops();
  ASSERT_TRUE(sup().OnStartFailed("sc", "clone3: EPERM").has_value());
  EXPECT_THAT(Ops(), IsEmpty());
  EXPECT_EQ(UntilDeadline(), seconds(10));
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #1"));
  Running("sc");
  EXPECT_THAT(Ops(), ElementsAre("Launch app #0"));
}

// --- Exit reasons, status, events ---

TEST_F(SupervisorTest, OomKillIsReportedAsOOMKilled) {
  Make(Pod(PodRestartPolicy::kNever, {App("app")}));
  Start();
  Running("app");
  All();
  ASSERT_TRUE(
      sup()
          .OnContainerExited("app", ContainerExit{.exit_code = 137, .signal = SIGKILL, .oom = true})
          .has_value());
  EXPECT_THAT(All(), ::testing::Contains("Emit ContainerExited app exitCode=137 signal=SIGKILL "
                                         "reason=OOMKilled restartCount=0"));
  EXPECT_EQ(Status("app").state.reason, "OOMKilled");
  EXPECT_EQ(sup().Phase(), PodPhase::kFailed);
}

TEST_F(SupervisorTest, EventsCarryTimeContainerAndRole) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), App("app")}));
  Start();
  Ops();
  clock_.Advance(seconds(3));
  const WallTime expected = clock_.WallNow();
  Running("sc");
  const std::vector<SupervisorAction> actions = sup().TakeActions();
  ASSERT_FALSE(actions.empty());
  const PodEvent& e = std::get<EmitAction>(actions.front()).event;
  EXPECT_EQ(e.type, "ContainerStarted");
  EXPECT_EQ(e.container, "sc");
  EXPECT_EQ(e.role, Role::kSidecar);
  EXPECT_EQ(e.time, expected);
  EXPECT_EQ(*e.Field("pid"), EventValue(int64_t{1000}));
  EXPECT_EQ(*e.Field("restartCount"), EventValue(int64_t{0}));
  EXPECT_EQ(e.Field("nope"), nullptr);
}

TEST_F(SupervisorTest, FullEventTimelineOfASimpleJob) {
  Make(Pod(PodRestartPolicy::kNever, {Init("init"), Sidecar("log"), App("job")}, seconds(7)));
  Start();
  Running("init");
  Exit("init", 0);
  Running("log");
  Running("job");
  Exit("job", 0);
  Killed("log", SIGTERM);
  EXPECT_THAT(
      All(),
      ElementsAre(
          "Launch init #0", "Emit ContainerStarted init pid=1000 restartCount=0",
          "Emit ContainerStartupSucceeded init",
          "Emit ContainerExited init exitCode=0 signal=null reason=Completed restartCount=0",
          "Launch log #0", "Emit ContainerStarted log pid=1001 restartCount=0",
          "Emit ContainerStartupSucceeded log", "Emit ContainerReady log", "Launch job #0",
          "Emit ContainerStarted job pid=1002 restartCount=0", "Emit ContainerStartupSucceeded job",
          "Emit ContainerReady job", "Emit PodReady",
          "Emit ContainerExited job exitCode=0 signal=null reason=Completed restartCount=0",
          "Emit ContainerNotReady job", "Emit PodNotReady",
          "Emit TerminationStarted reason=Completed gracePeriodSeconds=7", "Signal log SIGTERM",
          "Emit ContainerExited log exitCode=143 signal=SIGTERM reason=Error restartCount=0",
          "Emit ContainerNotReady log", "Emit PodFinished phase=Succeeded",
          "PodFinished Succeeded (Completed)"));
}

TEST_F(SupervisorTest, ReadinessProbeDecidesContainerAndPodReadiness) {
  ContainerPlan app = App("app");
  app.has_readiness_probe = true;
  Make(Pod(PodRestartPolicy::kAlways, {app}));
  Start();
  Running("app");
  EXPECT_THAT(Events(), ElementsAre("ContainerStarted app", "ContainerStartupSucceeded app"));
  EXPECT_FALSE(Status("app").ready);
  ASSERT_TRUE(sup().OnReadinessChanged("app", true).has_value());
  EXPECT_THAT(Events(), ElementsAre("ContainerReady app", "PodReady"));
  EXPECT_TRUE(sup().Snapshot().ready);
  ASSERT_TRUE(sup().OnReadinessChanged("app", false).has_value());
  EXPECT_THAT(Events(), ElementsAre("ContainerNotReady app", "PodNotReady"));
}

TEST_F(SupervisorTest, StatusSnapshotFollowsTheContainer) {
  Make(Pod(PodRestartPolicy::kAlways, {App("app")}));
  Start();
  Running("app");
  EXPECT_EQ(Status("app").state.kind, StateSnapshot::Kind::kRunning);
  EXPECT_EQ(Status("app").pid, 1000);
  EXPECT_TRUE(Status("app").started);
  EXPECT_TRUE(Status("app").ready);
  const WallTime started_at = clock_.WallNow();
  clock_.Advance(seconds(4));
  Exit("app", 2);
  const ContainerSnapshot& s = Status("app");
  EXPECT_EQ(s.state.kind, StateSnapshot::Kind::kWaiting);
  EXPECT_EQ(s.state.reason, "CrashLoopBackOff");
  ASSERT_TRUE(s.last_state.has_value());
  EXPECT_EQ(s.last_state->reason, "Error");
  EXPECT_EQ(s.last_state->exit_code, 2);
  EXPECT_EQ(s.last_state->started_at, started_at);
  EXPECT_EQ(s.last_state->finished_at, clock_.WallNow());
  EXPECT_FALSE(s.pid.has_value());
  EXPECT_FALSE(s.started);
  EXPECT_FALSE(s.ready);
  EXPECT_EQ(s.restart_count, 0);
}

// --- Misuse by the caller ---

TEST_F(SupervisorTest, RejectsUnknownContainersAndImpossibleEvents) {
  Make(Pod(PodRestartPolicy::kAlways, {App("app")}));
  Start();
  auto again = sup().Start();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), make_error_code(ErrorCode::kConflict));
  auto unknown = sup().OnContainerStarted("ghost", 1);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), make_error_code(ErrorCode::kNotFound));
  EXPECT_NE(unknown.error().context().find("ghost"), std::string::npos);
  Running("app");
  auto twice = sup().OnContainerStarted("app", 7);
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().code(), make_error_code(ErrorCode::kConflict));
  Exit("app", 0);
  auto exit_twice = sup().OnContainerExited("app", ContainerExit::Code(0));
  ASSERT_FALSE(exit_twice.has_value());
  EXPECT_EQ(exit_twice.error().code(), make_error_code(ErrorCode::kConflict));
}

TEST(SupervisorPlanTest, RejectsInvalidPlans) {
  FakeClock clock;
  auto no_app = Supervisor::Create(Pod(PodRestartPolicy::kAlways, {Init("init")}), clock);
  ASSERT_FALSE(no_app.has_value());
  EXPECT_NE(no_app.error().context().find("no app container"), std::string::npos);
  auto dup = Supervisor::Create(Pod(PodRestartPolicy::kAlways, {App("a"), App("a")}), clock);
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().context().find("\"a\" is repeated"), std::string::npos);
  auto order = Supervisor::Create(Pod(PodRestartPolicy::kAlways, {App("a"), Init("i")}), clock);
  ASSERT_FALSE(order.has_value());
  EXPECT_NE(order.error().context().find("\"i\" comes after an app"), std::string::npos);
  auto grace = Supervisor::Create(Pod(PodRestartPolicy::kAlways, {App("a")}, seconds(-1)), clock);
  ASSERT_FALSE(grace.has_value());
  EXPECT_EQ(grace.error().code(), make_error_code(ErrorCode::kInvalidSpec));
}

}  // namespace
}  // namespace podshim::shim
