// Supervisor scripts for what probes, hooks and the control API add: postStart gating the next
// container, a container stopped on its own (liveness/startup failure, failed postStart, `ctl
// restart`) with its preStop and grace and then restarted, and the preStop's time limit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shim/pod/supervisor.h"
#include "unit/shim/pod/supervisor_fixture.h"

namespace podshim::shim {
namespace {

using namespace supervisor_test;  // NOLINT: the fixture and its plan builders
using ::testing::Contains;
using ::testing::Not;

ContainerPlan WithPostStart(ContainerPlan c) {
  c.has_poststart = true;
  return c;
}
ContainerPlan WithStartupProbe(ContainerPlan c) {
  c.has_startup_probe = true;
  return c;
}
ContainerPlan WithPreStop(ContainerPlan c) {
  c.has_prestop = true;
  return c;
}

class SupervisorProbeKillTest : public SupervisorTest {
 protected:
  void PostStartDone(std::string_view name, bool ok) {
    auto s = sup().OnPostStartFinished(name, ok);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }
  void ProbeKill(std::string_view name, std::optional<seconds> grace = std::nullopt) {
    auto s = sup().OnProbeKill(name, grace);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }
};

TEST_F(SupervisorProbeKillTest, PostStartHoldsTheNextContainerUntilItReturns) {
  Make(Pod(PodRestartPolicy::kAlways, {WithPostStart(Sidecar("sc")), App("app")}));
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #0"));
  Running("sc");
  EXPECT_THAT(Ops(), ElementsAre("PostStart sc"));
  EXPECT_FALSE(Status("sc").started);
  PostStartDone("sc", true);
  EXPECT_TRUE(Status("sc").started);
  EXPECT_THAT(Ops(), ElementsAre("Launch app #0"));
}

TEST_F(SupervisorProbeKillTest, AnAppsPostStartHoldsBackTheAppsAfterItOnly) {
  Make(Pod(PodRestartPolicy::kNever, {App("a"), WithPostStart(App("b")), App("c"), App("d")}));
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch a #0", "Launch b #0"));
  Running("a");
  Running("b");
  EXPECT_THAT(Ops(), ElementsAre("PostStart b"));
  PostStartDone("b", true);
  EXPECT_THAT(Ops(), ElementsAre("Launch c #0", "Launch d #0"));
}

TEST_F(SupervisorProbeKillTest, AFailedAppStartHoldsBackNothing) {
  Make(Pod(PodRestartPolicy::kNever, {WithPostStart(App("a")), App("b")}));
  Start();
  EXPECT_THAT(Ops(), ElementsAre("Launch a #0"));
  ASSERT_TRUE(sup().OnStartFailed("a", "exec: no such file").has_value());
  EXPECT_THAT(Ops(), ElementsAre("Launch b #0"));
}

TEST_F(SupervisorProbeKillTest, StartedNeedsBothTheStartupProbeAndThePostStartHook) {
  Make(
      Pod(PodRestartPolicy::kAlways, {WithStartupProbe(WithPostStart(Sidecar("sc"))), App("app")}));
  Start();
  Running("sc");
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #0", "PostStart sc"));
  ASSERT_TRUE(sup().OnStartupSucceeded("sc").has_value());
  EXPECT_THAT(Events(), IsEmpty());  // no ContainerStartupSucceeded yet: the hook still runs
  PostStartDone("sc", true);
  EXPECT_THAT(All(), ElementsAre("Emit ContainerStartupSucceeded sc", "Emit ContainerReady sc",
                                 "Launch app #0"));
}

TEST_F(SupervisorProbeKillTest, FailedPostStartStopsTheSidecarAndItIsRestartedUnderNever) {
  Make(Pod(PodRestartPolicy::kNever, {WithPostStart(Sidecar("sc")), App("app")}, seconds(5)));
  Start();
  Running("sc");
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #0", "PostStart sc"));
  PostStartDone("sc", false);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGTERM"));
  EXPECT_EQ(UntilDeadline(), seconds(5));
  Killed("sc", SIGTERM);
  EXPECT_THAT(Events(), Contains("ContainerBackOff sc"));
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #1"));
  EXPECT_THAT(Ops(), Not(Contains("Launch app #0")));
}

TEST_F(SupervisorProbeKillTest, ProbeKillUsesTheProbeGraceThenSigkill) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), App("app")}, seconds(30)));
  Start();
  Running("sc");
  Running("app");
  (void)All();
  ProbeKill("sc", seconds(3));
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGTERM"));
  EXPECT_EQ(UntilDeadline(), seconds(3));
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Kill sc"));
  Killed("sc", SIGKILL);
  ASSERT_TRUE(Status("sc").last_state.has_value());  // waiting in back-off now
  EXPECT_EQ(Status("sc").last_state->exit_code, 137);
  FireDeadline();  // the back-off
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #1"));
  EXPECT_EQ(Status("app").restart_count, 0);
}

TEST_F(SupervisorProbeKillTest, MinimumTwoSecondsBetweenSignalAndSigkill) {
  Make(Pod(PodRestartPolicy::kAlways, {App("app")}));
  Start();
  Running("app");
  (void)All();
  ProbeKill("app", seconds(0));
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  EXPECT_EQ(UntilDeadline(), seconds(2));
}

TEST_F(SupervisorProbeKillTest, ProbeKillRunsThePreStopHookFirstWithTheGraceAsItsLimit) {
  Make(Pod(PodRestartPolicy::kAlways, {WithPreStop(App("app"))}, seconds(30)));
  Start();
  Running("app");
  (void)All();
  ProbeKill("app", seconds(8));
  auto actions = sup().TakeActions();
  ASSERT_EQ(actions.size(), 1u);
  const auto* prestop = std::get_if<StartPreStopAction>(&actions[0]);
  ASSERT_NE(prestop, nullptr);
  EXPECT_EQ(prestop->container, "app");
  EXPECT_EQ(prestop->grace, seconds(8));
  clock_.Advance(std::chrono::milliseconds(2500));
  ASSERT_TRUE(sup().OnPreStopFinished("app").has_value());
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  EXPECT_EQ(UntilDeadline(), seconds(6));  // 8 - 2 whole seconds the hook took
  Exit("app", 0);
  EXPECT_THAT(Events(), Contains("ContainerBackOff app"));  // Always: restarted
}

TEST_F(SupervisorProbeKillTest, LivenessKilledAppUnderNeverIsNotRestartedAndThePodFails) {
  Make(Pod(PodRestartPolicy::kNever, {App("app")}, seconds(5)));
  Start();
  Running("app");
  (void)All();
  ProbeKill("app");
  // Nothing will run again: the pod terminates at the kill (kubelet's KillPod).
  EXPECT_THAT(All(), ElementsAre("Signal app SIGTERM",
                                 "Emit TerminationStarted reason=Failed gracePeriodSeconds=5"));
  Killed("app", SIGTERM);
  EXPECT_THAT(Events(), ElementsAre("ContainerExited app", "ContainerNotReady app", "PodNotReady",
                                    "PodFinished"));
  EXPECT_EQ(sup().Phase(), PodPhase::kFailed);
}

TEST_F(SupervisorProbeKillTest, ProbeKillIsIgnoredWhileThePodTerminatesAndWhenNotRunning) {
  Make(Pod(PodRestartPolicy::kAlways, {App("a"), App("b")}, seconds(5)));
  Start();
  Running("a");
  (void)All();
  ProbeKill("b");  // still launching: nothing to stop
  EXPECT_THAT(Ops(), IsEmpty());
  Running("b");
  sup().OnStopRequest(TerminationReason::kRequest);
  EXPECT_THAT(Ops(), ElementsAre("Signal a SIGTERM", "Signal b SIGTERM"));
  ProbeKill("a", seconds(1));
  EXPECT_THAT(Ops(), IsEmpty());
}

TEST_F(SupervisorProbeKillTest, TerminationTakesOverAStopUnderWayWithoutASecondPreStop) {
  Make(Pod(PodRestartPolicy::kAlways, {WithPreStop(App("app"))}, seconds(10)));
  Start();
  Running("app");
  (void)All();
  ProbeKill("app");
  EXPECT_THAT(Ops(), ElementsAre("PreStop app"));
  sup().OnStopRequest(TerminationReason::kRequest);
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  ASSERT_TRUE(sup().OnPreStopFinished("app").has_value());  // late: changes nothing
  EXPECT_THAT(Ops(), IsEmpty());
  Exit("app", 0);
  EXPECT_TRUE(sup().Finished());
}

TEST_F(SupervisorProbeKillTest, RestartRequestRelaunchesAtOnceWhateverThePolicy) {
  Make(Pod(PodRestartPolicy::kNever, {App("app"), App("other")}, seconds(5)));
  Start();
  Running("app");
  Running("other");
  (void)All();
  ASSERT_TRUE(sup().OnRestartRequest("app").has_value());
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  Exit("app", 0);
  EXPECT_THAT(Ops(), ElementsAre("Launch app #1"));  // no back-off
  EXPECT_EQ(Status("app").restart_count, 1);
  ASSERT_TRUE(Status("app").last_state.has_value());
  EXPECT_EQ(Status("app").last_state->exit_code, 0);
  Running("app");
  EXPECT_EQ(Status("app").state.kind, StateSnapshot::Kind::kRunning);
}

TEST_F(SupervisorProbeKillTest, RestartRequestLaunchesAContainerWaitingInBackOffNow) {
  Make(Pod(PodRestartPolicy::kAlways, {App("app")}));
  Start();
  Running("app");
  Exit("app", 1);
  (void)All();
  EXPECT_GT(UntilDeadline(), seconds(0));
  ASSERT_TRUE(sup().OnRestartRequest("app").has_value());
  EXPECT_THAT(Ops(), ElementsAre("Launch app #1"));
}

TEST_F(SupervisorProbeKillTest, RestartRequestIsRefusedForInitsUnstartedAndWhileTerminating) {
  Make(Pod(PodRestartPolicy::kAlways, {Init("init"), App("app")}));
  Start();
  EXPECT_FALSE(sup().OnRestartRequest("app").has_value());  // not started yet
  EXPECT_FALSE(sup().OnRestartRequest("init").has_value());
  EXPECT_FALSE(sup().OnRestartRequest("nope").has_value());
  Running("init");
  Exit("init", 0);
  Running("app");
  sup().OnStopRequest(TerminationReason::kRequest);
  auto refused = sup().OnRestartRequest("app");
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().ToString().find("terminating"), std::string::npos);
}

TEST_F(SupervisorProbeKillTest, PodPreStopCarriesThePodGraceAsItsLimit) {
  Make(Pod(PodRestartPolicy::kAlways, {WithPreStop(App("app"))}, seconds(30)));
  Start();
  Running("app");
  (void)All();
  sup().OnStopRequest(TerminationReason::kRequest, seconds(7));
  bool found = false;
  for (const SupervisorAction& a : sup().TakeActions()) {
    if (const auto* p = std::get_if<StartPreStopAction>(&a)) {
      EXPECT_EQ(p->grace, seconds(7));
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace podshim::shim
