// Issue 11 (3b), end to end on busybox containers: under restartPolicy Never a liveness kill of
// the only app container ends the pod at once (kubelet's KillPod). While the app's preStop runs,
// a crashing sidecar is not restarted; the sidecar stops after the app and the pod fails.
// Assertions read events.jsonl only.
#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
using namespace std::chrono_literals;
using json = nlohmann::json;

using PodNeverTerminationTest = PodRunTest;

TEST_F(PodNeverTerminationTest, SidecarIsNotRestartedDuringTheLivenessKilledAppsPreStop) {
  // The sidecar crashes 0.3 s after each start; with the fixture's 200-400 ms back-off it would
  // be restarted several times during the app's 3 s preStop if the pod were not terminating.
  // The app fails its liveness probe at its first run and exits 1 on SIGTERM.
  WriteManifest(
      UniqueName("nt-liveness"),
      Spec("Never", C("side", "sleep 0.3; exit 1", true),
           C("app", "trap 'exit 1' TERM; while :; do sleep 0.05; done") +
               Field("livenessProbe",
                     "{exec: {command: [\"false\"]}, periodSeconds: 1, failureThreshold: 1}") +
               Field("lifecycle", "{preStop: {sleep: {seconds: 3}}}"),
           /*grace=*/10));
  ASSERT_EQ(RunBounded(30s), 1) << Dump();  // Failed

  auto ev = Events();
  const int hook = FindWith(ev, "HookStarted", "app", "hook", "preStop");
  const int hook_done = FindWith(ev, "HookFinished", "app", "hook", "preStop");
  const int term = Find(ev, "TerminationStarted");
  const int app_exit = Find(ev, "ContainerExited", "app");
  const int finished = Find(ev, "PodFinished");
  ASSERT_GE(hook, 0) << Dump();
  ASSERT_GE(hook_done, 0) << Dump();
  ASSERT_GE(term, 0) << Dump();
  ASSERT_GE(app_exit, 0) << Dump();
  ASSERT_GE(finished, 0) << Dump();
  // The pod terminates at the kill, not once the app has exited.
  EXPECT_LT(term, hook_done) << Dump();
  EXPECT_EQ(ev[term]["reason"], "Failed");
  EXPECT_EQ(ev[term]["gracePeriodSeconds"], 10);
  EXPECT_GE(EventSeconds(ev[hook_done]) - EventSeconds(ev[hook]), 2.9);  // the hook ran out
  // From the kill on, the sidecar is never started again nor put in back-off.
  for (size_t i = hook; i < ev.size(); ++i) {
    if (ev[i].value("container", "") != "side") continue;
    EXPECT_NE(ev[i]["type"], "ContainerStarted") << ev[i];
    EXPECT_NE(ev[i]["type"], "ContainerBackOff") << ev[i];
  }
  EXPECT_EQ(ev[app_exit]["exitCode"], 1);
  EXPECT_EQ(ev[finished]["phase"], "Failed");
  ExpectNothingLeft();
}

}  // namespace
