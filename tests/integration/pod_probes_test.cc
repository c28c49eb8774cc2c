// Probes in `podshim run`, end to end on busybox containers: startup probes gate the next
// container, a startup probe that never passes restarts its sidecar, readiness flips PodReady both
// ways, a liveness failure restarts a sidecar while the app runs on, an exec probe past its
// timeout is killed, httpGet and tcpSocket probes reach a container at 127.0.0.1 in the pod
// network namespace, an HTTPS readiness probe flips readiness through test_proc's TLS server.
// Assertions read events.jsonl and status.json (and the requests that server logged).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;

using PodProbesTest = PodRunTest;

// Runs until SIGTERM; `first` runs before.
std::string Then(const std::string& first) { return first + "; " + kUntilTerm; }

std::string Env(const std::string& token) {
  return Field("env", "[{name: PODRUN_TEST, value: " + token + "}]");
}

// The `message` of ProbeFailed events of `probe` for `container`, in order.
std::vector<std::string> ProbeMessages(const std::vector<json>& ev, const std::string& container,
                                       const std::string& probe) {
  std::vector<std::string> out;
  for (int n = 0;; ++n) {
    int i = FindWith(ev, "ProbeFailed", container, "probe", probe, n);
    if (i < 0) return out;
    out.push_back(ev[i].value("message", ""));
  }
}

TEST_F(PodProbesTest, SidecarsWithStartupProbesStartOneAfterTheOtherThenTheApp) {
  // Each sidecar creates its marker in its own /dev/shm (a tmpfs of its mount namespace, so the
  // exec probe must run in the container to see it) one second after it started.
  const std::string probe = Field("startupProbe",
                                  "{exec: {command: [test, -f, /dev/shm/started]}, "
                                  "periodSeconds: 1, failureThreshold: 30}");
  const std::string sidecar = Then("sleep 1; touch /dev/shm/started");
  WriteManifest(UniqueName("pr-startup-order"),
                Spec("Never", C("s1", sidecar, true) + probe + C("s2", sidecar, true) + probe,
                     C("app", "sleep 0.2")));
  ASSERT_EQ(RunBounded(30s), 0) << Dump();
  auto ev = Events();
  for (const char* s : {"s1", "s2"}) {
    int started = Find(ev, "ContainerStarted", s);
    int ok = Find(ev, "ContainerStartupSucceeded", s);
    ASSERT_GE(started, 0) << s << Dump();
    ASSERT_GE(ok, 0) << s << Dump();
    // The first probe ran before the marker existed: the probe, not the start, made it started.
    int failed = FindWith(ev, "ProbeFailed", s, "probe", "startup");
    ASSERT_GE(failed, 0) << s << Dump();
    EXPECT_LT(started, failed) << s;
    EXPECT_LT(failed, ok) << s;
    EXPECT_GE(EventSeconds(ev[ok]) - EventSeconds(ev[started]), 0.8) << s;
    EXPECT_EQ(Count(ev, "ContainerStarted", s), 1) << s;
    // No readiness probe: ready once started.
    EXPECT_LT(ok, Find(ev, "ContainerReady", s)) << s;
  }
  EXPECT_LT(Find(ev, "ContainerStartupSucceeded", "s1"), Find(ev, "ContainerStarted", "s2"));
  EXPECT_LT(Find(ev, "ContainerStartupSucceeded", "s2"), Find(ev, "ContainerStarted", "app"));
  EXPECT_EQ(ev[Find(ev, "PodFinished")]["phase"], "Succeeded");
  ExpectNothingLeft();
}

TEST_F(PodProbesTest, StartupProbeThatNeverPassesRestartsTheSidecarUnderNeverAndAppNeverStarts) {
  WriteManifest(
      UniqueName("pr-startup-fail"),
      Spec("Never",
           C("side", kUntilTerm, true) + Field("startupProbe",
                                               "{exec: {command: [\"false\"]}, periodSeconds: 1, "
                                               "failureThreshold: 2}"),
           C("app", kUntilTerm), /*grace=*/2));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "side", 1, 20s, shim)) << Dump();
  EXPECT_EQ(Stop(shim), 143) << Dump();
  auto ev = Events();
  int exit0 = Find(ev, "ContainerExited", "side");
  ASSERT_GE(exit0, 0) << Dump();
  // failureThreshold 2: two failed runs before the kill, each reported.
  int second_failure = FindWith(ev, "ProbeFailed", "side", "probe", "startup", 1);
  ASSERT_GE(second_failure, 0) << Dump();
  EXPECT_LT(second_failure, exit0);
  for (const std::string& m : ProbeMessages(ev, "side", "startup")) EXPECT_FALSE(m.empty());
  int signal = Find(ev, "SignalSent", "side");
  EXPECT_GE(signal, 0) << Dump();
  EXPECT_LT(signal, exit0);
  // Restarted although the pod's restartPolicy is Never; it never counts as started.
  int restart = Find(ev, "ContainerStarted", "side", 1);
  EXPECT_LT(exit0, restart);
  EXPECT_EQ(ev[restart]["restartCount"], 1);
  EXPECT_EQ(Find(ev, "ContainerStartupSucceeded", "side"), -1) << Dump();
  EXPECT_EQ(Find(ev, "ContainerStarted", "app"), -1) << Dump();
  json side = ContainerStatusOf(Status(), "side");
  ASSERT_TRUE(side.is_object()) << ReadText(state_ / "status.json");
  EXPECT_GE(side.value("restartCount", 0), 1);
  EXPECT_EQ(side.value("started", true), false);
  ExpectNothingLeft();
}

TEST_F(PodProbesTest, ReadinessProbeFlipsPodReadyBothWays) {
  // The test drives the probe through the hostPath volume; the probe also needs the container's
  // env and a file in the container's own /dev/shm, so it must run inside the container.
  fs::path ready = CtlDir() / "ready";
  std::ofstream(ready) << "1";
  WriteManifest(
      UniqueName("pr-readiness"),
      Spec("Always", C("side", kUntilTerm, true),
           C("app", Then("touch /dev/shm/mine"), false, "{name: ctl, mountPath: /ctl}") +
               Env("pr-readiness-env") +
               Field("readinessProbe",
                     "{exec: {command: [sh, -c, \"test -f /ctl/ready && test -f /dev/shm/mine && "
                     "test $PODRUN_TEST = pr-readiness-env\"]}, periodSeconds: 1, "
                     "failureThreshold: 1}"),
           /*grace=*/2, CtlVolume()));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEventN("PodReady", "", 0, 15s, shim)) << Dump();
  EXPECT_TRUE(WaitUntil([&] { return Status().value("ready", false); }, 3s))
      << ReadText(state_ / "status.json");
  json app = ContainerStatusOf(Status(), "app");
  EXPECT_EQ(app.value("ready", false), true) << app;
  EXPECT_EQ(app.value("started", false), true) << app;

  fs::remove(ready);
  ASSERT_TRUE(WaitForEventN("PodNotReady", "", 0, 15s, shim)) << Dump();
  EXPECT_TRUE(WaitUntil([&] { return !Status().value("ready", true); }, 3s))
      << ReadText(state_ / "status.json");
  app = ContainerStatusOf(Status(), "app");
  EXPECT_EQ(app.value("ready", true), false) << app;
  EXPECT_EQ(app.value("started", false), true) << app;  // not ready, still started and running
  EXPECT_EQ(ContainerStatusOf(Status(), "side").value("ready", false), true);

  std::ofstream(ready) << "1";
  ASSERT_TRUE(WaitForEventN("PodReady", "", 1, 15s, shim)) << Dump();
  EXPECT_TRUE(WaitUntil([&] { return Status().value("ready", false); }, 3s))
      << ReadText(state_ / "status.json");
  EXPECT_EQ(Stop(shim), 143) << Dump();

  auto ev = Events();
  int ready0 = Find(ev, "PodReady"), not_ready = Find(ev, "PodNotReady"),
      ready1 = Find(ev, "PodReady", "", 1);
  EXPECT_LT(Find(ev, "ContainerReady", "app"), ready0);
  EXPECT_LT(ready0, not_ready);
  EXPECT_LT(not_ready, ready1);
  int failed = FindWith(ev, "ProbeFailed", "app", "probe", "readiness");
  int app_not_ready = Find(ev, "ContainerNotReady", "app");
  // The failure after PodReady is what made the app not ready (earlier ones may precede it).
  int failed_after = -1;
  for (int n = 0; failed >= 0;
       failed = FindWith(ev, "ProbeFailed", "app", "probe", "readiness", ++n)) {
    if (failed > ready0) {
      failed_after = failed;
      break;
    }
  }
  ASSERT_GE(failed_after, 0) << Dump();
  EXPECT_LT(failed_after, app_not_ready);
  EXPECT_LT(app_not_ready, not_ready);
  EXPECT_LT(not_ready, Find(ev, "ContainerReady", "app", 1));
  EXPECT_LT(Find(ev, "ContainerReady", "app", 1), ready1);
  // Readiness never restarts a container.
  EXPECT_EQ(Count(ev, "ContainerStarted", "app"), 1);
  EXPECT_LT(Find(ev, "TerminationStarted"), Find(ev, "ContainerExited", "app"));
  ExpectNothingLeft();
}

TEST_F(PodProbesTest, FailingLivenessRestartsTheSidecarWhileTheAppRunsOn) {
  // Nobody listens on port 9 in the pod's network namespace.
  WriteManifest(UniqueName("pr-liveness"),
                Spec("Always",
                     C("side", kUntilTerm, true) +
                         Field("livenessProbe",
                               "{tcpSocket: {port: 9}, periodSeconds: 1, failureThreshold: 2}"),
                     C("app", kUntilTerm), /*grace=*/2));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "side", 2, 25s, shim)) << Dump();
  EXPECT_EQ(Stop(shim), 143) << Dump();
  auto ev = Events();
  int exit0 = Find(ev, "ContainerExited", "side");
  ASSERT_GE(exit0, 0) << Dump();
  EXPECT_LT(FindWith(ev, "ProbeFailed", "side", "probe", "liveness", 1), exit0);
  for (const std::string& m : ProbeMessages(ev, "side", "liveness")) EXPECT_FALSE(m.empty());
  EXPECT_LT(exit0, Find(ev, "ContainerStarted", "side", 1));
  EXPECT_EQ(ev[Find(ev, "ContainerStarted", "side", 1)]["restartCount"], 1);
  EXPECT_EQ(ev[Find(ev, "ContainerStarted", "side", 2)]["restartCount"], 2);
  // The app started once and ran until the pod was stopped.
  EXPECT_EQ(Count(ev, "ContainerStarted", "app"), 1) << Dump();
  EXPECT_EQ(Count(ev, "ContainerExited", "app"), 1) << Dump();
  EXPECT_LT(Find(ev, "TerminationStarted"), Find(ev, "ContainerExited", "app"));
  EXPECT_EQ(FindWith(ev, "ProbeFailed", "app", "probe", "liveness"), -1);
  ExpectNothingLeft();
}

TEST_F(PodProbesTest, ExecProbePastItsTimeoutIsKilledAndLeavesNothing) {
  // The first run hangs in `sleep 1000` for its 2 s timeout; later runs pass. The container's env
  // marks the probe's processes so they can be found in /proc: while it hangs, it must be in the
  // container (the pod's cgroup, the container's env); afterwards it must be gone.
  const std::string token = UniqueName("pr-hang-token");
  WriteManifest(UniqueName("pr-hang"),
                Spec("Always", "",
                     C("app", kUntilTerm) + Env(token) +
                         Field("readinessProbe",
                               "{exec: {command: [sh, -c, \"test -f /dev/shm/hung && exit 0; "
                               "touch /dev/shm/hung; exec sleep 1000\"]}, periodSeconds: 1, "
                               "timeoutSeconds: 2, failureThreshold: 1}"),
                     /*grace=*/2));
  pid_t shim = Spawn();
  std::string hung;
  ASSERT_TRUE(WaitUntil([&] { return !(hung = FindProcess("sleep 1000", token)).empty(); }, 10s))
      << "the hanging probe never ran with the container's env\n"
      << Dump();
  std::string cgroups = ReadText(fs::path("/proc") / hung / "cgroup");
  EXPECT_NE(cgroups.find("0::" + PodCgroupPath() + "/"), std::string::npos) << cgroups;
  ASSERT_TRUE(WaitForEventN("ContainerReady", "app", 0, 20s, shim)) << Dump();
  auto ev = Events();
  int failed = FindWith(ev, "ProbeFailed", "app", "probe", "readiness");
  ASSERT_GE(failed, 0) << Dump();
  std::string message = ev[failed].value("message", "");
  EXPECT_TRUE(std::regex_search(message, std::regex("time(d)? ?out", std::regex::icase)))
      << message;
  double after = EventSeconds(ev[failed]) - EventSeconds(ev[Find(ev, "ContainerStarted", "app")]);
  EXPECT_GE(after, 1.9);  // not before the timeout
  EXPECT_LT(after, 8.0);
  EXPECT_LT(failed, Find(ev, "ContainerReady", "app"));
  // The hung probe is gone while the container still runs.
  EXPECT_TRUE(WaitUntil([&] { return PodProcesses("sleep 1000", token).empty(); }, 2s))
      << ::testing::PrintToString(PodProcesses("sleep 1000", token));
  EXPECT_EQ(Find(Events(), "ContainerExited", "app"), -1) << Dump();
  EXPECT_EQ(Stop(shim), 143) << Dump();
  EXPECT_EQ(Count(Events(), "ContainerStarted", "app"), 1);
  EXPECT_TRUE(PodProcesses("sleep 1000", token).empty());
  ExpectNothingLeft();
}

TEST_F(PodProbesTest, HttpGetAndTcpSocketProbesReachBusyboxHttpdInThePod) {
  // httpd in a sidecar serves /healthz from the sidecar's own /dev/shm. The app probes a path
  // that does not exist (404) and calls /healthz from its preStop hook.
  const std::string web =
      "mkdir -p /dev/shm/www && echo ok > /dev/shm/www/healthz; "
      "trap 'exit 0' TERM; httpd -f -p 8080 -h /dev/shm/www & wait";
  WriteManifest(
      UniqueName("pr-http"),
      Spec(
          "Always",
          C("web", web, true) +
              Field("readinessProbe", "{httpGet: {port: 8080, path: /healthz}, periodSeconds: 1}") +
              Field("livenessProbe",
                    "{tcpSocket: {port: 8080}, periodSeconds: 1, failureThreshold: 3}"),
          C("app", kUntilTerm) +
              Field("readinessProbe", "{httpGet: {port: 8080, path: /missing}, periodSeconds: 1}") +
              Field("lifecycle", "{preStop: {httpGet: {port: 8080, path: /healthz}}}"),
          /*grace=*/3));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEventN("ContainerReady", "web", 0, 15s, shim)) << Dump();
  auto has_404 = [&] {
    for (const std::string& m : ProbeMessages(Events(), "app", "readiness")) {
      if (m.find("404") != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(WaitUntil(has_404, 15s)) << Dump();
  // Past a few periods: tcpSocket liveness held, the app is still not ready.
  std::this_thread::sleep_for(2s);
  json status = Status();
  EXPECT_EQ(status.value("ready", true), false) << status;
  EXPECT_EQ(ContainerStatusOf(status, "web").value("ready", false), true) << status;
  EXPECT_EQ(ContainerStatusOf(status, "app").value("ready", true), false) << status;
  EXPECT_EQ(ContainerStatusOf(status, "app").value("started", false), true) << status;
  EXPECT_EQ(Stop(shim), 143) << Dump();

  auto ev = Events();
  // tcpSocket liveness: a run before httpd listened may fail, none once it served /healthz, and
  // never failureThreshold (3) in a row, so web was not restarted.
  EXPECT_EQ(Count(ev, "ContainerStarted", "web"), 1) << Dump();
  EXPECT_LT(Find(ev, "TerminationStarted"), Find(ev, "ContainerExited", "web"));
  int web_ready = Find(ev, "ContainerReady", "web");
  for (int n = 0;; ++n) {
    int i = FindWith(ev, "ProbeFailed", "web", "probe", "liveness", n);
    if (i < 0) break;
    EXPECT_LT(i, web_ready) << ev[i];
  }
  EXPECT_EQ(Find(ev, "ContainerReady", "app"), -1);
  EXPECT_EQ(Find(ev, "PodReady"), -1);
  int hook = FindWith(ev, "HookFinished", "app", "hook", "preStop");
  ASSERT_GE(hook, 0) << Dump();
  EXPECT_EQ(ev[hook]["exitCode"], 0) << ev[hook];
  ExpectNothingLeft();
}

TEST_F(PodProbesTest, HttpsReadinessProbeFlipsPodReadyThroughATlsServerInThePod) {
  // test_proc (static, with OpenSSL) serves HTTPS on 8443 in the pod's network namespace with a
  // certificate it made at start: /ready answers 200 while /ctl/ready exists, else 503.
  fs::copy_file(PODSHIM_TEST_PROC, CtlDir() / "test_proc", fs::copy_options::overwrite_existing);
  std::ofstream(CtlDir() / "ready") << "1";
  WriteManifest(
      UniqueName("pr-https"),
      Spec("Always", "",
           C("web", "exec /ctl/test_proc https 8443 /ctl", false, "{name: ctl, mountPath: /ctl}") +
               Field("readinessProbe",
                     "{httpGet: {port: 8443, path: /ready, scheme: HTTPS, httpHeaders: "
                     "[{name: X-Test, value: pr-https}]}, periodSeconds: 1, failureThreshold: 1}"),
           /*grace=*/2, CtlVolume()));
  pid_t shim = Spawn();
  ASSERT_TRUE(WaitForEventN("PodReady", "", 0, 15s, shim)) << Dump();
  fs::remove(CtlDir() / "ready");
  ASSERT_TRUE(WaitForEventN("PodNotReady", "", 0, 15s, shim)) << Dump();
  EXPECT_TRUE(WaitUntil([&] { return !Status().value("ready", true); }, 3s))
      << ReadText(state_ / "status.json");
  std::ofstream(CtlDir() / "ready") << "1";
  ASSERT_TRUE(WaitForEventN("PodReady", "", 1, 15s, shim)) << Dump();
  EXPECT_EQ(Stop(shim), 143) << Dump();

  auto ev = Events();
  int ready0 = Find(ev, "PodReady"), not_ready = Find(ev, "PodNotReady");
  EXPECT_LT(ready0, not_ready);
  EXPECT_LT(not_ready, Find(ev, "PodReady", "", 1));
  // The failure that made it not ready is the server's 503, over TLS.
  bool saw_503 = false;
  for (const std::string& m : ProbeMessages(ev, "web", "readiness")) {
    saw_503 |= m == "HTTP probe failed with statuscode: 503";
  }
  EXPECT_TRUE(saw_503) << Dump();
  EXPECT_EQ(Count(ev, "ContainerStarted", "web"), 1);
  std::string requests = ReadText(CtlDir() / "requests");
  EXPECT_NE(requests.find("GET /ready HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
                          "User-Agent: kube-probe/podshim\r\nAccept: */*\r\nX-Test: pr-https\r\n"),
            std::string::npos)
      << requests;
  ExpectNothingLeft();
}

}  // namespace
