// The supervisor on a pod that ends: Job completion and the termination order (main containers
// first, sidecars in reverse order, preStop hooks, SIGKILL at the grace deadline), stop requests
// with and without grace (SEMANTICS 6.2, 6.5). Pure: a FakeClock, no processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fixtures/fakes/fake_clock.h"
#include "shim/pod/supervisor.h"
#include "unit/shim/pod/supervisor_fixture.h"

namespace podshim::shim {
namespace {

using namespace supervisor_test;  // NOLINT: the fixture and its plan builders

// --- Job completion and termination order (SEMANTICS 6.2, 6.5) ---

TEST_F(SupervisorTest, JobWithThreeSidecarsSucceedsAndStopsSidecarsInReverseOrder) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc1"), Sidecar("sc2"), Sidecar("sc3"), App("job")}));
  Start();
  Running("sc1");
  Running("sc2");
  Running("sc3");
  EXPECT_THAT(Ops(),
              ElementsAre("Launch sc1 #0", "Launch sc2 #0", "Launch sc3 #0", "Launch job #0"));
  Running("job");
  All();
  clock_.Advance(seconds(5));
  Exit("job", 0);
  EXPECT_THAT(All(), ElementsAre("Emit ContainerExited job exitCode=0 signal=null reason=Completed "
                                 "restartCount=0",
                                 "Emit ContainerNotReady job", "Emit PodNotReady",
                                 "Emit TerminationStarted reason=Completed gracePeriodSeconds=30",
                                 "Signal sc3 SIGTERM"));
  EXPECT_EQ(sup().Phase(), PodPhase::kRunning);  // sidecars still run
  Killed("sc3", SIGTERM);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc2 SIGTERM"));  // only once sc3 exited
  Exit("sc2", 1);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc1 SIGTERM"));
  Exit("sc1", 0);
  EXPECT_THAT(All(), ElementsAre("Emit ContainerExited sc1 exitCode=0 signal=null reason=Completed "
                                 "restartCount=0",
                                 "Emit ContainerNotReady sc1", "Emit PodFinished phase=Succeeded",
                                 "PodFinished Succeeded (Completed)"));
  // Sidecar exit codes (143, 1, 0) never change the phase.
  EXPECT_EQ(sup().Phase(), PodPhase::kSucceeded);
  EXPECT_TRUE(sup().Snapshot().finished);
}

TEST_F(SupervisorTest, JobWithFailedAppFailsWhateverTheSidecarsReport) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), App("a1"), App("a2")}));
  Start();
  Running("sc");
  Running("a1");
  Running("a2");
  All();
  Exit("a1", 0);
  EXPECT_THAT(Ops(), IsEmpty());  // a2 still runs
  Exit("a2", 2);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGTERM"));
  Exit("sc", 0);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Failed (Failed)"));
  EXPECT_EQ(sup().Phase(), PodPhase::kFailed);
}

TEST_F(SupervisorTest, OnFailureJobCompletesOnceTheFailedAppSucceeds) {
  Make(Pod(PodRestartPolicy::kOnFailure, {Sidecar("sc"), App("app")}));
  Start();
  Running("sc");
  Running("app");
  Exit("app", 1);
  EXPECT_EQ(sup().Phase(), PodPhase::kRunning);  // restarting
  FireDeadline();
  Running("app");
  All();
  Exit("app", 0);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGTERM"));
  Killed("sc", SIGTERM);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Succeeded (Completed)"));
}

TEST_F(SupervisorTest, SidecarThatStopsIsNotRestartedOnceTerminationBegan) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc1"), Sidecar("sc2"), App("app")}));
  Start();
  Running("sc1");
  Running("sc2");
  Running("app");
  All();
  sup().OnStopRequest(TerminationReason::kRequest);
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  Exit("sc1", 1);  // crashes while the app is still stopping
  EXPECT_THAT(Ops(), IsEmpty());
  EXPECT_EQ(Status("sc1").state.kind, StateSnapshot::Kind::kTerminated);
  Killed("app", SIGTERM);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc2 SIGTERM"));
  Killed("sc2", SIGTERM);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Failed (Request)"));
}

TEST_F(SupervisorTest, PendingRestartIsCancelledWhenTerminationBegins) {
  Make(Pod(PodRestartPolicy::kAlways, {Sidecar("sc"), App("app")}));
  Start();
  Running("sc");
  Running("app");
  Exit("sc", 1);
  All();
  ASSERT_TRUE(sup().NextDeadline().has_value());
  sup().OnStopRequest(TerminationReason::kSignal, seconds(10));
  EXPECT_THAT(All(), ElementsAre("Emit TerminationStarted reason=Signal gracePeriodSeconds=10",
                                 "Signal app SIGTERM"));
  EXPECT_EQ(Status("sc").state.kind, StateSnapshot::Kind::kTerminated);
  EXPECT_EQ(Status("sc").state.exit_code, 1);
  clock_.Advance(seconds(10));
  sup().OnDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Kill app"));  // never "Launch sc"
  Killed("app", SIGKILL);
  EXPECT_THAT(All(),
              ElementsAre("Emit ContainerExited app exitCode=137 signal=SIGKILL reason=Error "
                          "restartCount=0",
                          "Emit ContainerNotReady app", "Emit PodFinished phase=Terminated",
                          "PodFinished Failed (Signal)"));
}

TEST_F(SupervisorTest, SigkillAtTheGraceDeadlineAndTwoSecondsLaterForWaitingSidecars) {
  Make(Pod(PodRestartPolicy::kAlways, {Sidecar("sc"), App("stubborn")}, seconds(5)));
  Start();
  Running("sc");
  Running("stubborn");
  All();
  sup().OnStopRequest(TerminationReason::kSignal);
  EXPECT_THAT(All(), ElementsAre("Emit TerminationStarted reason=Signal gracePeriodSeconds=5",
                                 "Signal stubborn SIGTERM"));
  EXPECT_EQ(UntilDeadline(), seconds(5));
  FireDeadline();  // t0+5: the app ignored SIGTERM; the sidecar's wait is over too
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGTERM", "Kill stubborn"));
  Killed("stubborn", SIGKILL);
  EXPECT_EQ(Status("stubborn").state.exit_code, 137);
  EXPECT_EQ(Status("stubborn").state.signal, SIGKILL);
  All();
  EXPECT_EQ(UntilDeadline(), seconds(2));  // minimum stop grace for the sidecar
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Kill sc"));
  Killed("sc", SIGKILL);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Failed (Signal)"));
  EXPECT_EQ(sup().Phase(), PodPhase::kFailed);  // an app killed after the grace period
  EXPECT_EQ(sup().NextDeadline(), std::nullopt);
}

TEST_F(SupervisorTest, PreStopHooksStartAllAtOnceAndSigtermFollowsEachHook) {
  ContainerPlan sc = Sidecar("sc");
  sc.has_prestop = true;
  ContainerPlan app = App("app");
  app.has_prestop = true;
  Make(Pod(PodRestartPolicy::kAlways, {sc, app}));
  Start();
  Running("sc");
  Running("app");
  All();
  sup().OnStopRequest(TerminationReason::kRequest);
  EXPECT_THAT(Ops(), ElementsAre("PreStop sc", "PreStop app"));
  clock_.Advance(seconds(1));
  ASSERT_TRUE(sup().OnPreStopFinished("app").has_value());
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  ASSERT_TRUE(sup().OnPreStopFinished("sc").has_value());
  EXPECT_THAT(Ops(), IsEmpty());  // the sidecar still waits for the app
  Exit("app", 0);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGTERM"));
  Exit("sc", 0);
  EXPECT_THAT(All(), ElementsAre("Emit ContainerExited sc exitCode=0 signal=null reason=Completed "
                                 "restartCount=0",
                                 "Emit ContainerNotReady sc", "Emit PodFinished phase=Terminated",
                                 "PodFinished Succeeded (Request)"));
}

TEST_F(SupervisorTest, SecondStopRequestWithZeroGraceKillsEverythingNow) {
  Make(Pod(PodRestartPolicy::kAlways, {Sidecar("sc"), App("app")}));
  Start();
  Running("sc");
  Running("app");
  All();
  sup().OnStopRequest(TerminationReason::kSignal);
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  sup().OnStopRequest(TerminationReason::kSignal, seconds(0));
  EXPECT_THAT(Ops(), ElementsAre("Kill sc", "Kill app"));
  EXPECT_EQ(sup().NextDeadline(), std::nullopt);  // only the exits are awaited now
  Killed("app", SIGKILL);
  Killed("sc", SIGKILL);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Failed (Signal)"));
}

TEST_F(SupervisorTest, SidecarWaitsAreBoundedByTheGracePeriod) {
  // The upstream vector with grace 2 s: each container takes 1.25 s to exit after SIGTERM.
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc1"), Sidecar("sc2"), Sidecar("sc3"), App("main")},
           seconds(2)));
  Start();
  for (const char* name : {"sc1", "sc2", "sc3", "main"}) Running(name);
  All();
  const Clock::TimePoint t0 = clock_.Now();
  sup().OnStopRequest(TerminationReason::kRequest);
  EXPECT_THAT(Ops(), ElementsAre("Signal main SIGTERM"));
  clock_.Advance(std::chrono::milliseconds(1250));
  Exit("main", 0);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc3 SIGTERM"));
  EXPECT_EQ(sup().NextDeadline(), t0 + seconds(2));  // the end of sc1's and sc2's wait
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Signal sc1 SIGTERM", "Signal sc2 SIGTERM"));
  Exit("sc3", 0);
  Exit("sc2", 0);
  Exit("sc1", 0);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Succeeded (Request)"));
}

TEST_F(SupervisorTest, StopWithZeroGraceSkipsHooksAndSignals) {
  ContainerPlan app = App("app");
  app.has_prestop = true;
  Make(Pod(PodRestartPolicy::kAlways, {app}));
  Start();
  Running("app");
  All();
  sup().OnStopRequest(TerminationReason::kRequest, seconds(0));
  EXPECT_THAT(All(), ElementsAre("Emit TerminationStarted reason=Request gracePeriodSeconds=0",
                                 "Kill app"));
}

TEST_F(SupervisorTest, StopDuringInitializationNeverStartsTheRest) {
  Make(Pod(PodRestartPolicy::kAlways, {Sidecar("sc"), Init("init"), App("app")}));
  Start();
  Running("sc");
  Running("init");
  All();
  sup().OnStopRequest(TerminationReason::kSignal);
  // Regular init containers do not wait; the sidecar waits for no app (none runs).
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGTERM", "Signal init SIGTERM"));
  Killed("init", SIGTERM);
  Killed("sc", SIGTERM);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Failed (Signal)"));
  EXPECT_EQ(Status("app").restart_count, 0);
  EXPECT_EQ(Status("app").state.kind, StateSnapshot::Kind::kWaiting);
  sup().OnStopRequest(TerminationReason::kSignal);  // after the end: nothing
  sup().OnDeadline();
  EXPECT_THAT(All(), IsEmpty());
}

TEST_F(SupervisorTest, StopWithNothingRunningFinishesAtOnce) {
  Make(Pod(PodRestartPolicy::kAlways, {App("app")}));
  Start();
  Running("app");
  Exit("app", 1);  // in back-off
  All();
  sup().OnStopRequest(TerminationReason::kRequest);
  EXPECT_THAT(All(),
              ElementsAre("Emit TerminationStarted reason=Request gracePeriodSeconds=30",
                          "Emit PodFinished phase=Terminated", "PodFinished Failed (Request)"));
}

TEST_F(SupervisorTest, ContainerLaunchedWhenTerminationBeganIsStillStopped) {
  Make(Pod(PodRestartPolicy::kAlways, {App("app")}));
  Start();
  Ops();
  sup().OnStopRequest(TerminationReason::kSignal);  // "Launch app" was queued, not yet reported
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  Running("app");
  EXPECT_THAT(Ops(), IsEmpty());
  EXPECT_FALSE(sup().Finished());
  Killed("app", SIGTERM);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Failed (Signal)"));
}

}  // namespace
}  // namespace podshim::shim
