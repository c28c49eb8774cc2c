// Lifecycle hooks in `podshim run`, end to end on busybox containers: preStop hooks of every
// container start together at termination, a preStop that never ends is cut at the grace deadline
// (then SIGTERM, SIGKILL after the 2 s minimum), a postStart holds back the next container, and a
// failing postStart kills its sidecar, which is restarted, HTTPS postStart and preStop hooks reach
// test_proc's TLS server in the pod. Assertions read events.jsonl and the files hooks (or that
// server) write to a hostPath volume.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;

using PodHooksTest = PodRunTest;

constexpr const char kIgnoreTerm[] = "trap '' TERM; while :; do sleep 0.05; done";
constexpr const char kCtlMount[] = "{name: ctl, mountPath: /ctl}";

std::string Env(const std::string& token) {
  return Field("env", "[{name: PODRUN_TEST, value: " + token + "}]");
}

// An exec hook that writes "$PODRUN_TEST $(hostname)" to /ctl/<file>, then sleeps `seconds`.
std::string WritingHook(const std::string& hook, const std::string& file,
                        const std::string& seconds) {
  return Field("lifecycle", "{" + hook +
                                ": {exec: {command: [sh, -c, \"echo $PODRUN_TEST "
                                "$(hostname) > /ctl/" +
                                file + "; sleep " + seconds + "\"]}}}");
}

TEST_F(PodHooksTest, PreStopHooksOfAllContainersStartTogetherAtTermination) {
  const std::string token = UniqueName("hk-prestop-token");
  std::string sidecars;
  for (const char* s : {"s1", "s2", "s3"}) {
    sidecars += C(s, kUntilTerm, true, kCtlMount) + Env(token) + WritingHook("preStop", s, "1");
  }
  WriteManifest(UniqueName("hk-prestop"), Spec("Always", sidecars,
                                               C("app", kUntilTerm, false, kCtlMount) + Env(token) +
                                                   WritingHook("preStop", "app", "1"),
                                               /*grace=*/10, CtlVolume()));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "app", 0, 15s, shim)) << Dump();
  EXPECT_EQ(Stop(shim), 143) << Dump();

  auto ev = Events();
  int term = Find(ev, "TerminationStarted");
  ASSERT_GE(term, 0) << Dump();
  const std::vector<std::string> all = {"s1", "s2", "s3", "app"};
  double first = 1e18, last = 0;
  int last_started = -1, first_finished = static_cast<int>(ev.size());
  for (const std::string& c : all) {
    int started = FindWith(ev, "HookStarted", c, "hook", "preStop");
    int finished = FindWith(ev, "HookFinished", c, "hook", "preStop");
    ASSERT_GE(started, 0) << c << Dump();
    ASSERT_GE(finished, 0) << c << Dump();
    EXPECT_LT(term, started) << c;
    EXPECT_EQ(ev[finished]["exitCode"], 0) << ev[finished];
    first = std::min(first, EventSeconds(ev[started]));
    last = std::max(last, EventSeconds(ev[started]));
    last_started = std::max(last_started, started);
    first_finished = std::min(first_finished, finished);
    // The hook ran in the container: its env and the pod's hostname.
    EXPECT_EQ(ReadText(CtlDir() / c), token + " " + pod_name_ + "\n") << c;
  }
  // All four started before any finished (each takes 1 s), so well under 1 s apart: one after
  // another they would be 1 s apart. (4 execs under ASan beside another test take ~0.15 s.)
  EXPECT_LT(last_started, first_finished) << Dump();
  EXPECT_LT(last - first, 0.5) << Dump();
  // The app is stopped as soon as its own preStop finished; sidecars after it, in reverse order.
  int app_finished = FindWith(ev, "HookFinished", "app", "hook", "preStop");
  EXPECT_LT(app_finished, Find(ev, "SignalSent", "app"));
  EXPECT_LT(Find(ev, "ContainerExited", "app"), Find(ev, "SignalSent", "s3"));
  EXPECT_LT(Find(ev, "ContainerExited", "s3"), Find(ev, "SignalSent", "s2"));
  EXPECT_LT(Find(ev, "ContainerExited", "s2"), Find(ev, "SignalSent", "s1"));
  for (const std::string& c : all) {
    EXPECT_LT(FindWith(ev, "HookFinished", c, "hook", "preStop"), Find(ev, "SignalSent", c)) << c;
    EXPECT_EQ(ev[Find(ev, "ContainerExited", c)]["exitCode"], 0) << c;
    EXPECT_EQ(Count(ev, "ContainerStarted", c), 1) << c;
  }
  ExpectNothingLeft();
}

TEST_F(PodHooksTest, NeverEndingPreStopIsCutAtTheGraceDeadlineThenKilled) {
  // Both containers ignore SIGTERM; the sidecar's preStop is a sleep action, the app's an exec
  // that never returns. Grace 2 s: each hook is abandoned at TerminationStarted + 2 s, then the
  // container gets SIGTERM and, with the 2 s minimum grace, SIGKILL 2 s later.
  const std::string token = UniqueName("hk-forever-token");
  WriteManifest(
      UniqueName("hk-forever"),
      Spec("Always",
           C("side", kIgnoreTerm, true) + Field("lifecycle", "{preStop: {sleep: {seconds: 1000}}}"),
           C("app", kIgnoreTerm) + Env(token) +
               Field("lifecycle", "{preStop: {exec: {command: [sleep, \"1000\"]}}}"),
           /*grace=*/2));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "app", 0, 15s, shim)) << Dump();
  EXPECT_EQ(Stop(shim), 143) << Dump();

  auto ev = Events();
  int term = Find(ev, "TerminationStarted");
  ASSERT_GE(term, 0) << Dump();
  EXPECT_EQ(ev[term]["gracePeriodSeconds"], 2);
  const double t0 = EventSeconds(ev[term]);
  for (const char* c : {"side", "app"}) {
    SCOPED_TRACE(c);
    int started = FindWith(ev, "HookStarted", c, "hook", "preStop");
    int finished = FindWith(ev, "HookFinished", c, "hook", "preStop");
    int sigterm = FindWith(ev, "SignalSent", c, "signal", "SIGTERM");
    int sigkill = FindWith(ev, "SignalSent", c, "signal", "SIGKILL");
    int exited = Find(ev, "ContainerExited", c);
    ASSERT_GE(started, 0) << Dump();
    ASSERT_GE(finished, 0) << Dump();
    ASSERT_GE(sigterm, 0) << Dump();
    ASSERT_GE(sigkill, 0) << Dump();
    ASSERT_GE(exited, 0) << Dump();
    EXPECT_TRUE(ev[finished]["exitCode"].is_null()) << ev[finished];  // abandoned
    EXPECT_LT(term, started);
    EXPECT_LT(started, finished);
    EXPECT_LT(finished, sigterm);
    EXPECT_LT(sigterm, sigkill);
    EXPECT_LT(sigkill, exited);
    EXPECT_GE(EventSeconds(ev[finished]) - t0, 1.9);  // not before the grace deadline
    EXPECT_GE(EventSeconds(ev[sigkill]) - EventSeconds(ev[sigterm]), 1.9);  // minimum grace
    EXPECT_LT(EventSeconds(ev[sigkill]) - t0, 10.0);
    EXPECT_EQ(ev[exited]["exitCode"], 137);
    EXPECT_EQ(ev[exited]["signal"], "SIGKILL");
  }
  EXPECT_GE(Find(ev, "PodFinished"), 0);
  EXPECT_TRUE(PodProcesses("sleep 1000", token).empty());
  ExpectNothingLeft();
}

TEST_F(PodHooksTest, PostStartMustFinishBeforeTheNextContainerStarts) {
  const std::string token = UniqueName("hk-poststart-token");
  WriteManifest(UniqueName("hk-poststart"),
                Spec("Never",
                     C("side", kUntilTerm, true, kCtlMount) + Env(token) +
                         WritingHook("postStart", "side", "1"),
                     C("app1", "sleep 2") +
                         Field("lifecycle", "{postStart: {exec: {command: [sleep, \"0.5\"]}}}") +
                         C("app2", "true"),
                     /*grace=*/2, CtlVolume()));
  ASSERT_EQ(RunBounded(30s), 0) << Dump();

  auto ev = Events();
  int started = Find(ev, "ContainerStarted", "side");
  int hook = FindWith(ev, "HookStarted", "side", "hook", "postStart");
  int done = FindWith(ev, "HookFinished", "side", "hook", "postStart");
  int ok = Find(ev, "ContainerStartupSucceeded", "side");
  ASSERT_GE(done, 0) << Dump();
  EXPECT_LT(started, hook);
  EXPECT_LT(hook, done);
  EXPECT_EQ(ev[done]["exitCode"], 0);
  EXPECT_GE(EventSeconds(ev[done]) - EventSeconds(ev[hook]), 0.9);
  EXPECT_LT(done, ok);
  EXPECT_LT(ok, Find(ev, "ContainerStarted", "app1"));
  EXPECT_EQ(ReadText(CtlDir() / "side"), token + " " + pod_name_ + "\n");
  // Apps start one after the other, each after the previous one's postStart.
  int app1_done = FindWith(ev, "HookFinished", "app1", "hook", "postStart");
  ASSERT_GE(app1_done, 0) << Dump();
  EXPECT_EQ(ev[app1_done]["exitCode"], 0);
  EXPECT_LT(app1_done, Find(ev, "ContainerStarted", "app2"));
  EXPECT_EQ(ev[Find(ev, "PodFinished")]["phase"], "Succeeded");
  ExpectNothingLeft();
}

TEST_F(PodHooksTest, FailingPostStartKillsTheSidecarWhichIsRestarted) {
  WriteManifest(UniqueName("hk-poststart-fail"),
                Spec("Never",
                     C("side", kUntilTerm, true) +
                         Field("lifecycle", "{postStart: {exec: {command: [\"false\"]}}}"),
                     C("app", kUntilTerm), /*grace=*/2));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "side", 1, 20s, shim)) << Dump();
  EXPECT_EQ(Stop(shim), 143) << Dump();

  auto ev = Events();
  int done = FindWith(ev, "HookFinished", "side", "hook", "postStart");
  int exit0 = Find(ev, "ContainerExited", "side");
  ASSERT_GE(done, 0) << Dump();
  ASSERT_GE(exit0, 0) << Dump();
  EXPECT_EQ(ev[done]["exitCode"], 1) << ev[done];
  EXPECT_LT(done, exit0);
  int restart = Find(ev, "ContainerStarted", "side", 1);
  EXPECT_LT(exit0, restart);
  EXPECT_EQ(ev[restart]["restartCount"], 1);
  // Its postStart fails every time: it never counts as started, so the app never starts.
  EXPECT_EQ(Find(ev, "ContainerStartupSucceeded", "side"), -1) << Dump();
  EXPECT_EQ(Find(ev, "ContainerStarted", "app"), -1) << Dump();
  ExpectNothingLeft();
}

TEST_F(PodHooksTest, HttpsPostStartAndPreStopHooksReachATlsServerInThePod) {
  // A sidecar serves HTTPS on 8443 (test_proc, a certificate made at start) and logs each request
  // to /ctl/requests; its startup probe holds the app back until it listens. The app's hooks GET
  // /poststart and /prestop over TLS.
  fs::copy_file(PODSHIM_TEST_PROC, CtlDir() / "test_proc", fs::copy_options::overwrite_existing);
  WriteManifest(
      UniqueName("hk-https"),
      Spec("Always",
           C("web", "exec /ctl/test_proc https 8443 /ctl", true, kCtlMount) +
               Field("startupProbe", "{tcpSocket: {port: 8443}, periodSeconds: 1}"),
           C("app", kUntilTerm) +
               Field("lifecycle",
                     "{postStart: {httpGet: {port: 8443, path: /poststart, scheme: HTTPS}}, "
                     "preStop: {httpGet: {port: 8443, path: /prestop, scheme: HTTPS}}}"),
           /*grace=*/5, CtlVolume()));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEventN("HookFinished", "app", 0, 20s, shim)) << Dump();
  EXPECT_EQ(Stop(shim), 143) << Dump();

  auto ev = Events();
  int post = FindWith(ev, "HookFinished", "app", "hook", "postStart");
  int pre = FindWith(ev, "HookFinished", "app", "hook", "preStop");
  ASSERT_GE(post, 0) << Dump();
  ASSERT_GE(pre, 0) << Dump();
  EXPECT_EQ(ev[post]["exitCode"], 0) << ev[post];
  EXPECT_EQ(ev[pre]["exitCode"], 0) << ev[pre];
  // The postStart passed: the app was not killed for it.
  EXPECT_EQ(Count(ev, "ContainerStarted", "app"), 1) << Dump();
  std::string requests = ReadText(CtlDir() / "requests");
  for (const char* path : {"/poststart", "/prestop"}) {
    EXPECT_NE(requests.find(std::string("GET ") + path +
                            " HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
                            "User-Agent: kube-lifecycle/podshim\r\n"),
              std::string::npos)
        << path << "\n"
        << requests;
  }
  ExpectNothingLeft();
}

}  // namespace
