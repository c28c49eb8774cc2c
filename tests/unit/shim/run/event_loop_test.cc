// The event loop driven through fakes (event_loop_fixture.h): a batch of exits arriving in one
// SIGCHLD, probe transitions reported while that batch is handed over, termination deadlines on
// a fake clock (the grace period runs out -> cgroup.kill), a second SIGTERM, a failed launch.
// Asserted: the events written, the launches, the cgroup calls and the PodOutcome.
#include <signal.h>

#include "shim/record/container_logs.h"
#include "unit/shim/run/event_loop_fixture.h"

namespace podshim::shim::event_loop_test {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Two apps under restartPolicy Never. `web` has a liveness probe that is not due for an hour: it
// counts as started and ready at once (no startup or readiness probe), and its probes report
// NotReady when it exits.
constexpr const char* kTwoApps = R"(
apiVersion: v1
kind: Pod
metadata: {name: batch}
spec:
  restartPolicy: Never
  containers:
  - name: web
    bundle: b
    livenessProbe: {tcpSocket: {port: 1}, initialDelaySeconds: 3600}
  - name: worker
    bundle: b
)";

TEST_F(EventLoopTest, ABatchOfExitsIsHandledAsOneAndEndsThePod) {
  Make(kTwoApps);
  config_.container_values["web"] = {{"memory.max", "104857600"}};
  auto outcome = Run({[&] {
    EXPECT_THAT(LaunchedNames(), ElementsAre("web", "worker"));
    // web was OOM-killed (the count of its leaf grew); an orphan re-parented to the shim exits in
    // the same batch.
    cgroups_.SetOomKills("pod-test/web-0", 1);
    signals_.Deliver({},
                     {signals::KilledBy(Pid("web"), SIGKILL), signals::ExitedWith(Pid("worker"), 0),
                      signals::ExitedWith(4'999'999, 0)});
  }});
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->phase, PodPhase::kFailed);
  EXPECT_EQ(outcome->reason, TerminationReason::kFailed);  // web failed
  EXPECT_EQ(outcome->shim_signal, std::nullopt);
  EXPECT_EQ(RunExitStatus(*outcome), 1);
  EXPECT_EQ(signals_.reaps(), 1);

  // web's NotReady, reported by its probes while the batch was handed over, is queued right
  // behind its exit; the pod ends only once both exits are known.
  EXPECT_THAT(Events(),
              ElementsAre("PodStarted", "ContainerStarted web", "ContainerStartupSucceeded web",
                          "ContainerReady web", "ContainerStarted worker",
                          "ContainerStartupSucceeded worker", "ContainerReady worker", "PodReady",
                          "ContainerExited web", "ContainerNotReady web", "PodNotReady",
                          "ContainerExited worker", "ContainerNotReady worker",
                          "TerminationStarted", "PodFinished"));
  auto exited = EventsOf("ContainerExited");
  ASSERT_EQ(exited.size(), 2u);
  EXPECT_EQ(exited[0]["reason"], "OOMKilled");
  EXPECT_EQ(exited[0]["exitCode"], 137);
  EXPECT_EQ(exited[1]["reason"], "Completed");

  auto web = records_->Read("web");
  ASSERT_TRUE(web && *web);
  EXPECT_EQ((*web)->status, 137);
  EXPECT_TRUE((*web)->oom);

  EXPECT_THAT(cgroups_.calls(),
              ElementsAre("CreateContainer web-0", "Apply pod-test/web-0 memory.max=104857600",
                          "OpenDirFd pod-test/web-0", "CreateContainer worker-0",
                          "OpenDirFd pod-test/worker-0", "TryRemove pod-test/web-0",
                          "TryRemove pod-test/worker-0"));
  EXPECT_THAT(cgroups_.live(), IsEmpty());
  EXPECT_THAT(signaller_.sent(), IsEmpty());
}

// The app's exit ends the job, which stops the sidecar; the sidecar's own exit is in the same
// batch, behind a probe transition of the app. Actions wait until the whole batch is known: no
// stop signal goes to the sidecar that has already exited.
TEST_F(EventLoopTest, NoActionRunsBeforeTheWholeBatchIsKnown) {
  Make(R"(
apiVersion: v1
kind: Pod
metadata: {name: job}
spec:
  restartPolicy: Never
  initContainers:
  - {name: proxy, bundle: b, restartPolicy: Always}
  containers:
  - {name: web, bundle: b, livenessProbe: {tcpSocket: {port: 1}, initialDelaySeconds: 3600}}
)");
  auto outcome = Run({
      [&] {
        EXPECT_THAT(LaunchedNames(), ElementsAre("proxy", "web"));
        signals_.Deliver(
            {}, {signals::ExitedWith(Pid("web"), 0), signals::KilledBy(Pid("proxy"), SIGKILL)});
      },
  });
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->reason, TerminationReason::kCompleted);
  EXPECT_THAT(signaller_.sent(), IsEmpty());
  EXPECT_THAT(EventsOf("SignalSent"), IsEmpty());
  auto events = Events();
  EXPECT_THAT(events, Contains("ContainerNotReady web"));
  EXPECT_THAT(events, Contains("ContainerExited proxy"));
  EXPECT_EQ(events.back(), "PodFinished");
}

TEST_F(EventLoopTest, ExitsInOneBatchRestartTogetherAfterTheirBackOff) {
  Make(R"(
apiVersion: v1
kind: Pod
metadata: {name: restarts}
spec:
  restartPolicy: Always
  containers:
  - {name: web, bundle: b, livenessProbe: {tcpSocket: {port: 1}, initialDelaySeconds: 3600}}
  - {name: worker, bundle: b}
)");
  pid_t web0 = 0;
  auto outcome = Run({
      [&] {
        web0 = Pid("web");
        signals_.Deliver(
            {}, {signals::ExitedWith(Pid("web"), 1), signals::ExitedWith(Pid("worker"), 2)});
        EXPECT_THAT(LaunchedNames(), ElementsAre("web", "worker"));  // both wait in back-off
        EXPECT_TRUE(wake_.deadline().has_value());
      },
      [&] {
        ASSERT_TRUE(wake_.Fire(clock_));
        // Both back-offs ran out at the same time: both start again, in new leaves.
        EXPECT_THAT(LaunchedNames(), ElementsAre("web", "worker", "web", "worker"));
        EXPECT_NE(Pid("web"), web0);
        signals_.Deliver({SIGTERM});
      },
      [&] {
        signals_.Deliver({}, {signals::KilledBy(Pid("web"), SIGTERM),
                              signals::KilledBy(Pid("worker"), SIGTERM)});
      },
  });
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->reason, TerminationReason::kSignal);
  EXPECT_EQ(outcome->shim_signal, SIGTERM);
  EXPECT_EQ(RunExitStatus(*outcome), 128 + SIGTERM);
  EXPECT_THAT(cgroups_.CallsOf("CreateContainer"),
              ElementsAre("CreateContainer web-0", "CreateContainer worker-0",
                          "CreateContainer web-1", "CreateContainer worker-1"));
  EXPECT_THAT(signaller_.sent(),
              ElementsAre(RecordingSignaller::Sent{launcher_.launched()[2].pid, SIGTERM},
                          RecordingSignaller::Sent{launcher_.launched()[3].pid, SIGTERM}));
  auto events = Events();
  EXPECT_THAT(events, Contains("ContainerBackOff web"));
  EXPECT_THAT(events, Contains("ContainerBackOff worker"));
  EXPECT_EQ(events.back(), "PodFinished");
}

TEST_F(EventLoopTest, TheGracePeriodRunningOutKillsTheContainersCgroup) {
  Make(R"(
apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - {name: web, bundle: b}
)");
  Clock::TimePoint stop_at;
  auto outcome = Run({
      [&] {
        stop_at = clock_.Now();
        signals_.Deliver({SIGTERM});
        EXPECT_THAT(signaller_.sent(), ElementsAre(RecordingSignaller::Sent{Pid("web"), SIGTERM}));
        ASSERT_TRUE(wake_.deadline().has_value());
        EXPECT_EQ(*wake_.deadline() - stop_at, std::chrono::seconds(30));
        EXPECT_THAT(cgroups_.CallsOf("Kill"), IsEmpty());
      },
      [&] {
        ASSERT_TRUE(wake_.Fire(clock_));  // 30 s later: web ignored its SIGTERM
        EXPECT_THAT(cgroups_.CallsOf("Kill"), ElementsAre("Kill pod-test/web-0"));
      },
      [&] { signals_.Deliver({}, {signals::KilledBy(Pid("web"), SIGKILL)}); },
  });
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->reason, TerminationReason::kSignal);
  EXPECT_EQ(outcome->shim_signal, SIGTERM);
  auto sent = EventsOf("SignalSent");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0]["signal"], "SIGTERM");
  EXPECT_EQ(sent[1]["signal"], "SIGKILL");
  auto started = EventsOf("TerminationStarted");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["gracePeriodSeconds"], 30);
  EXPECT_EQ(EventsOf("ContainerExited").at(0)["exitCode"], 137);
}

TEST_F(EventLoopTest, WithoutCgroupsTheKillGoesThroughThePidfd) {
  Make(R"(
apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - {name: web, bundle: b}
)",
       /*with_cgroups=*/false);
  auto outcome = Run({
      [&] { signals_.Deliver({SIGINT}); },
      [&] { ASSERT_TRUE(wake_.Fire(clock_)); },
      [&] { signals_.Deliver({}, {signals::KilledBy(Pid("web"), SIGKILL)}); },
  });
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->shim_signal, SIGINT);
  // The container's stop signal (SIGTERM), whatever signal the shim got.
  EXPECT_THAT(signaller_.sent(), ElementsAre(RecordingSignaller::Sent{Pid("web"), SIGTERM},
                                             RecordingSignaller::Sent{Pid("web"), SIGKILL}));
  EXPECT_THAT(cgroups_.calls(), IsEmpty());
}

TEST_F(EventLoopTest, ASecondSigtermKillsAtOnceWithoutWaitingForTheDeadline) {
  Make(R"(
apiVersion: v1
kind: Pod
metadata: {name: impatient}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - {name: web, bundle: b}
)");
  auto outcome = Run({
      [&] { signals_.Deliver({SIGTERM}); },
      [&] {
        signals_.Deliver({SIGTERM});
        EXPECT_THAT(cgroups_.CallsOf("Kill"), ElementsAre("Kill pod-test/web-0"));
      },
      [&] { signals_.Deliver({}, {signals::KilledBy(Pid("web"), SIGKILL)}); },
  });
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->shim_signal, SIGTERM);
  EXPECT_EQ(RunExitStatus(*outcome), 128 + SIGTERM);
}

TEST_F(EventLoopTest, AFailedLaunchIsReportedAndItsLeafRemoved) {
  Make(R"(
apiVersion: v1
kind: Pod
metadata: {name: broken}
spec:
  restartPolicy: Never
  containers:
  - {name: web, bundle: b}
)");
  launcher_.FailNext(Error::Invalid("container \"web\": pivot_root: Invalid argument"));
  // The launch fails inside Run() before any step: the pod ends at once.
  auto outcome = Run({});
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->phase, PodPhase::kFailed);
  EXPECT_THAT(LaunchedNames(), IsEmpty());
  EXPECT_THAT(cgroups_.calls(), ElementsAre("CreateContainer web-0", "OpenDirFd pod-test/web-0",
                                            "TryRemove pod-test/web-0"));
  auto failed = EventsOf("ContainerStartFailed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_THAT(failed[0].dump(), ::testing::HasSubstr("pivot_root"));
}

TEST_F(EventLoopTest, AnInitContainerExitingStartsTheAppsInTheSameBatch) {
  Make(R"(
apiVersion: v1
kind: Pod
metadata: {name: init}
spec:
  restartPolicy: Never
  initContainers:
  - {name: prepare, bundle: b}
  containers:
  - {name: web, bundle: b}
)");
  launcher_.SetStdout("hello from the container\n");
  auto outcome = Run({
      [&] {
        EXPECT_THAT(LaunchedNames(), ElementsAre("prepare"));
        signals_.Deliver({}, {signals::ExitedWith(Pid("prepare"), 0)});
        EXPECT_THAT(LaunchedNames(), ElementsAre("prepare", "web"));
      },
      [&] { signals_.Deliver({}, {signals::ExitedWith(Pid("web"), 0)}); },
  });
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->phase, PodPhase::kSucceeded);
  EXPECT_EQ(RunExitStatus(*outcome), 0);
  // What the process wrote went through the log pump into its CRI log.
  std::ifstream log(ContainerLogPath(dir_.path() / "logs", "web", 0));
  std::string line;
  ASSERT_TRUE(std::getline(log, line));
  EXPECT_THAT(line, ::testing::EndsWith(" stdout F hello from the container"));
}

}  // namespace
}  // namespace podshim::shim::event_loop_test
