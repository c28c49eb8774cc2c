// Supervisor scripts for issue 11 (3b): under restartPolicy Never, the moment the last app
// container is being stopped for good (liveness/startup kill, failed postStart) the pod
// terminates, as kubelet's computePodActions returns KillPod then: sidecars are no longer
// restarted or probe-killed, the app finishes its own stop, then the sidecars stop in reverse
// order. Under OnFailure/Always the killed app is restarted, so the sidecars keep being restarted.
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

ContainerPlan WithPreStop(ContainerPlan c) {
  c.has_prestop = true;
  return c;
}
ContainerPlan WithPostStart(ContainerPlan c) {
  c.has_poststart = true;
  return c;
}

class SupervisorNeverTerminationTest : public SupervisorTest {
 protected:
  void ProbeKill(std::string_view name, std::optional<seconds> grace = std::nullopt) {
    auto s = sup().OnProbeKill(name, grace);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }
  void PreStopDone(std::string_view name) {
    auto s = sup().OnPreStopFinished(name);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }
  // Starts every container of `names` in order (each sidecar starts the next container).
  void RunAll(std::initializer_list<std::string_view> names) {
    Start();
    for (std::string_view n : names) Running(n);
    (void)All();
  }
  // The grace of every StartPreStopAction queued, as "name=Ns"; other actions are dropped.
  std::vector<std::string> PreStops() {
    std::vector<std::string> out;
    for (const SupervisorAction& a : sup().TakeActions()) {
      if (const auto* p = std::get_if<StartPreStopAction>(&a)) {
        out.push_back(p->container + "=" + std::to_string(p->grace.count()) + "s");
      }
    }
    return out;
  }
};

TEST_F(SupervisorNeverTerminationTest, LivenessKillOfTheLastAppTerminatesThePodAtOnce) {
  Make(Pod(PodRestartPolicy::kNever,
           {WithPreStop(Sidecar("sc1")), Sidecar("sc2"), Sidecar("sc3"), WithPreStop(App("app"))},
           seconds(30)));
  RunAll({"sc1", "sc2", "sc3", "app"});

  // t0: the app's own stop begins with the probe's grace; the pod terminates at the same
  // moment, so every sidecar's preStop starts now, with the pod's grace.
  ProbeKill("app", seconds(20));
  EXPECT_TRUE(sup().Terminating());
  EXPECT_THAT(PreStops(), ElementsAre("app=20s", "sc1=30s"));
  EXPECT_EQ(Status("app").state.kind, StateSnapshot::Kind::kRunning);  // not signalled yet

  // During the app's long preStop: a sidecar that exits stays down...
  clock_.Advance(seconds(3));
  Exit("sc3", 1);
  EXPECT_THAT(Events(), Not(Contains("ContainerBackOff sc3")));
  clock_.Advance(seconds(11));
  sup().OnDeadline();
  EXPECT_THAT(Ops(), IsEmpty());
  // ...and a sidecar's liveness failure neither kills nor restarts it.
  ProbeKill("sc2", seconds(1));
  EXPECT_THAT(Ops(), IsEmpty());
  PreStopDone("sc1");
  EXPECT_THAT(Ops(), IsEmpty());  // sc1 waits for the app and for sc2

  // The app's preStop returns (t0+15 s): its own stop goes on, SIGKILL at its own grace.
  clock_.Advance(seconds(1));
  PreStopDone("app");
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  EXPECT_EQ(UntilDeadline(), seconds(5));  // 20 - 15 whole seconds in the hook
  Killed("app", SIGTERM);
  // Then the sidecars, last declared first (sc3 is down already).
  EXPECT_THAT(Ops(), ElementsAre("Signal sc2 SIGTERM"));
  Exit("sc2", 0);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc1 SIGTERM"));
  Exit("sc1", 0);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Failed (Failed)"));
  EXPECT_EQ(sup().Phase(), PodPhase::kFailed);
  EXPECT_EQ(Status("sc2").restart_count, 0);
  EXPECT_EQ(Status("sc3").restart_count, 0);
  EXPECT_EQ(Status("app").restart_count, 0);
}

TEST_F(SupervisorNeverTerminationTest, TheTerminationEventSaysFailedWithThePodGrace) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), App("app")}, seconds(30)));
  RunAll({"sc", "app"});
  ProbeKill("app");
  EXPECT_THAT(All(), ElementsAre("Signal app SIGTERM",
                                 "Emit TerminationStarted reason=Failed gracePeriodSeconds=30"));
}

TEST_F(SupervisorNeverTerminationTest, ThePodGraceDeadlineDoesNotCutTheAppsOwnStopShort) {
  // The probe's grace (40 s) is longer than the pod's (10 s): the app keeps its own; the
  // sidecar's wait is bounded by the pod's grace, as in any termination.
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), WithPreStop(App("app"))}, seconds(10)));
  RunAll({"sc", "app"});
  ProbeKill("app", seconds(40));
  EXPECT_THAT(Ops(), ElementsAre("PreStop app"));
  FireDeadline();  // t0+10: the sidecar's wait ends
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGTERM"));
  Exit("sc", 0);
  EXPECT_THAT(Ops(), IsEmpty());  // the app's preStop still runs
  FireDeadline();                 // t0+40: the app's hook is abandoned
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  FireDeadline();  // 2 s minimum
  EXPECT_THAT(Ops(), ElementsAre("Kill app"));
  Killed("app", SIGKILL);
  EXPECT_TRUE(sup().Finished());
}

TEST_F(SupervisorNeverTerminationTest, ASecondAppStillRunningKeepsThePodAlive) {
  Make(
      Pod(PodRestartPolicy::kNever, {Sidecar("sc"), App("a"), WithPreStop(App("b"))}, seconds(30)));
  RunAll({"sc", "a", "b"});
  ProbeKill("b");
  EXPECT_THAT(Ops(), ElementsAre("PreStop b"));
  EXPECT_FALSE(sup().Terminating());
  Exit("sc", 1);  // "a" still runs: the sidecar is restarted as usual
  EXPECT_THAT(Events(), Contains("ContainerBackOff sc"));
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Launch sc #1"));
  Running("sc");
  (void)All();

  // "a" exits while "b" is still in its preStop: nothing will run again, the pod terminates;
  // "b" is not signalled before its hook returns.
  Exit("a", 0);
  EXPECT_TRUE(sup().Terminating());
  EXPECT_THAT(Ops(), IsEmpty());
  PreStopDone("b");
  EXPECT_THAT(Ops(), ElementsAre("Signal b SIGTERM"));
  Killed("b", SIGTERM);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGTERM"));
  Exit("sc", 0);
  EXPECT_THAT(Ops(), ElementsAre("PodFinished Failed (Failed)"));
}

TEST_F(SupervisorNeverTerminationTest, AFailedPostStartOfTheLastAppTerminatesThePod) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), WithPostStart(App("app"))}, seconds(30)));
  Start();
  Running("sc");
  Running("app");
  (void)All();
  ASSERT_TRUE(sup().OnPostStartFinished("app", false).has_value());
  EXPECT_TRUE(sup().Terminating());
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
  Exit("sc", 1);
  EXPECT_THAT(Events(), Not(Contains("ContainerBackOff sc")));
  Killed("app", SIGTERM);
  EXPECT_TRUE(sup().Finished());
  EXPECT_EQ(sup().Phase(), PodPhase::kFailed);
}

TEST_F(SupervisorNeverTerminationTest, ARestartRequestUnderNeverDoesNotTerminateThePod) {
  Make(Pod(PodRestartPolicy::kNever, {Sidecar("sc"), WithPreStop(App("app"))}, seconds(30)));
  RunAll({"sc", "app"});
  ASSERT_TRUE(sup().OnRestartRequest("app").has_value());
  EXPECT_THAT(Ops(), ElementsAre("PreStop app"));
  EXPECT_FALSE(sup().Terminating());
}

// The contrast: a liveness-killed app is restarted under OnFailure and Always (kubelet adds it
// to ContainersToStart), so the pod does not terminate and the sidecar is restarted meanwhile.
TEST_F(SupervisorNeverTerminationTest, UnderOnFailureAndAlwaysTheSidecarIsStillRestarted) {
  for (PodRestartPolicy policy : {PodRestartPolicy::kOnFailure, PodRestartPolicy::kAlways}) {
    SCOPED_TRACE(policy == PodRestartPolicy::kAlways ? "Always" : "OnFailure");
    Make(Pod(policy, {Sidecar("sc"), WithPreStop(App("app"))}, seconds(30)));
    RunAll({"sc", "app"});
    ProbeKill("app");
    EXPECT_THAT(Ops(), ElementsAre("PreStop app"));
    EXPECT_FALSE(sup().Terminating());
    Exit("sc", 1);
    EXPECT_THAT(Events(), Contains("ContainerBackOff sc"));
    FireDeadline();  // the back-off (10 s) ends before the app's preStop limit (30 s)
    EXPECT_THAT(Ops(), ElementsAre("Launch sc #1"));
    Running("sc");
    (void)All();
    PreStopDone("app");
    EXPECT_THAT(Ops(), ElementsAre("Signal app SIGTERM"));
    Killed("app", SIGTERM);
    EXPECT_THAT(Events(), Contains("ContainerBackOff app"));
    EXPECT_FALSE(sup().Terminating());
  }
}

}  // namespace
}  // namespace podshim::shim
