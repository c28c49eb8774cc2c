// `podshim start --recover` end to end: a shim SIGKILLed while its pod runs is replaced by one
// that takes the pod back from the state dir (supervisor journal, /proc, the pod cgroup) instead
// of stopping it. No container restarts, restart counts, back-off and a termination's deadline
// go on where they were, events.jsonl neither loses nor repeats a line, and a container that
// died while no shim was alive is recorded as ended with an unknown exit and restarted.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"
#include "integration/pod_start_fixture.h"

namespace {

using namespace podshim::pod_start_test;  // NOLINT: the fixture and its helpers
using namespace podshim::pod_test;        // NOLINT
namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::seconds;

class PodRecoverTest : public PodStartTest {
 protected:
  // `podshim start` (with --recover when `recover`), with the back-off set to `backoff`.
  Outcome StartWith(bool recover, const std::string& backoff = "200ms") {
    std::vector<std::string> argv =
        StartArgv(recover ? std::vector<std::string>{"--recover"} : std::vector<std::string>{});
    for (std::string& a : argv) {
      if (a.starts_with("--backoff-initial=")) a = "--backoff-initial=" + backoff;
      if (a.starts_with("--backoff-max=")) a = "--backoff-max=" + backoff;
    }
    Outcome o = Exec(argv);
    if (o.status == 0) shim_ = ReadPid(state_ / "podshim.pid");
    return o;
  }

  // SIGKILL to the shim; true once it is gone.
  bool KillShim() {
    if (::kill(shim_, SIGKILL) != 0) return false;
    const bool gone = WaitUntil([&] { return !Alive(shim_); }, seconds(10));
    shim_ = -1;
    return gone;
  }

  // `ctl stop` and the wait for the shim to end.
  void StopAndWait() {
    Outcome stop = Ctl({"stop"});
    EXPECT_EQ(stop.status, 0) << stop.err;
    EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(30))) << Dump();
    shim_ = -1;
  }

  // No line of events.jsonl appears twice (every event carries its own time, so a repeated line
  // is an event written twice).
  void ExpectNoDuplicateEvents() {
    std::set<std::string> seen;
    std::istringstream in(ReadText(state_ / "events.jsonl"));
    for (std::string line; std::getline(in, line);) {
      EXPECT_TRUE(seen.insert(line).second) << "written twice: " << line;
    }
  }
};

// The pod of the issue: init done, two sidecars, an app, an app whose readiness probe fails and
// one crashing into a back-off that is pending when the shim dies.
std::string BusyPod() {
  return Spec(
      "Always", C("init", "exit 0") + C("side1", kUntilTerm, true) + C("side2", kUntilTerm, true),
      C("app", "trap 'exit 7' TERM; while :; do sleep 0.05; done") + C("unready", kUntilTerm) +
          Field("readinessProbe", "{exec: {command: [sh, -c, 'exit 1']}, periodSeconds: 1}") +
          C("crasher", "exit 3"),
      /*grace=*/5);
}

TEST_F(PodRecoverTest, SigkilledShimIsReplacedWithoutRestartingAnyContainer) {
  WriteManifest(UniqueName("recover"), BusyPod());
  Outcome r = StartWith(false, "3s");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> running = {"side1", "side2", "app", "unready"};
  std::map<std::string, pid_t> pids;
  ASSERT_TRUE(
      WaitUntil([&] { return !(pids = RunningPids(Status(), running)).empty(); }, seconds(15)))
      << Dump();
  ASSERT_TRUE(WaitForEvent("ContainerBackOff", "crasher")) << Dump();
  ASSERT_TRUE(WaitForEvent("ProbeFailed", "unready")) << Dump();
  const pid_t first = shim_;
  const size_t before = Events().size();
  const double backoff_at = EventSeconds(Events()[Find(Events(), "ContainerBackOff", "crasher")]);
  ASSERT_TRUE(KillShim());

  Outcome again = StartWith(true, "3s");
  ASSERT_EQ(again.status, 0) << again.err << Dump();
  ASSERT_GT(shim_, 0);
  EXPECT_NE(shim_, first);
  // The same processes run, nothing was started again, the restart counts are the old ones.
  json status = Status();
  EXPECT_EQ(RunningPids(status, running), pids) << status.dump();
  for (const std::string& name : running) {
    EXPECT_EQ(ContainerStatusOf(status, name)["restartCount"], 0) << name;
    EXPECT_EQ(Count(Events(), "ContainerStarted", name), 1) << name;
  }
  EXPECT_EQ(ContainerStatusOf(status, "unready")["ready"], false);
  // The events go on in the same file: no PodStarted again, nothing lost before the crash.
  std::vector<json> ev = Events();
  ASSERT_GE(ev.size(), before);
  EXPECT_EQ(Count(ev, "PodStarted", ""), 1);
  // `ctl` answers the new shim.
  Outcome st = Ctl({"status"});
  EXPECT_EQ(st.status, 0) << st.err;
  EXPECT_NE(st.out.find("side1"), std::string::npos) << st.out;
  Outcome ex = Ctl({"exec", "app", "--", "echo", "still-here"});
  EXPECT_EQ(ex.status, 0) << ex.err;
  EXPECT_NE(ex.out.find("still-here"), std::string::npos) << ex.out;

  // The back-off pending at the crash ends when it was due: the crasher restarts once, with
  // restartCount 1, about 3 s after its back-off began (not 3 s after the new shim came).
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "crasher", 1, seconds(10))) << Dump();
  ev = Events();
  const json& restarted = ev[Find(ev, "ContainerStarted", "crasher", 1)];
  EXPECT_EQ(restarted["restartCount"], 1) << restarted;
  EXPECT_NEAR(EventSeconds(restarted) - backoff_at, 3.0, 1.0) << restarted;

  // Termination later is ordered: the apps first, then side2, then side1.
  StopAndWait();
  ev = Events();
  const int app_end = Find(ev, "ContainerExited", "app");
  const int side2_end = Find(ev, "ContainerExited", "side2");
  const int side1_end = Find(ev, "ContainerExited", "side1");
  ASSERT_GE(app_end, 0) << Dump();
  ASSERT_GE(side2_end, 0) << Dump();
  ASSERT_GE(side1_end, 0) << Dump();
  EXPECT_LT(app_end, side2_end);
  EXPECT_LT(side2_end, side1_end);
  EXPECT_LT(Find(ev, "ContainerExited", "unready"), side2_end);
  for (const std::string& name : running) {
    EXPECT_EQ(CountWith(ev, "SignalSent", name, "signal", "SIGKILL"), 0) << name;
  }
  EXPECT_EQ(ev.back()["type"], "PodFinished");
  ExpectNoDuplicateEvents();
  ExpectNothingLeft();
}

// Killed while the pod terminates: the new shim keeps the termination's deadline. The app
// ignores SIGTERM, so it gets SIGKILL when its grace (3 s) from the TerminationStarted runs out.
TEST_F(PodRecoverTest, TerminationInProgressKeepsItsDeadline) {
  WriteManifest(UniqueName("recover-term"),
                Spec("Always", C("side", kUntilTerm, true),
                     C("app", "trap '' TERM; while :; do sleep 0.05; done"), /*grace=*/3));
  Outcome r = StartWith(false);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  Outcome stop = Ctl({"stop"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  ASSERT_TRUE(WaitForEvent("SignalSent", "app")) << Dump();
  ASSERT_TRUE(KillShim());

  Outcome again = StartWith(true);
  ASSERT_EQ(again.status, 0) << again.err << Dump();
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(20))) << Dump();
  shim_ = -1;
  std::vector<json> ev = Events();
  EXPECT_EQ(Count(ev, "TerminationStarted", ""), 1);
  const int started = Find(ev, "TerminationStarted", "");
  const int kill = FindWith(ev, "SignalSent", "app", "signal", "SIGKILL");
  ASSERT_GE(started, 0) << Dump();
  ASSERT_GE(kill, 0) << Dump();
  EXPECT_NEAR(EventSeconds(ev[kill]) - EventSeconds(ev[started]), 3.0, 0.75) << Dump();
  // The sidecar is stopped after the app, as before the crash.
  EXPECT_LT(Find(ev, "ContainerExited", "app"), Find(ev, "ContainerExited", "side"));
  EXPECT_EQ(ev.back()["type"], "PodFinished");
  ExpectNoDuplicateEvents();
  ExpectNothingLeft();
}

// A sidecar killed while no shim was alive: recorded as ended, with its real status when its
// zombie was not reaped yet (init reaps it whenever it does), else with an unknown exit (never
// a made-up code), and restarted as sidecars always are; the app runs on untouched.
TEST_F(PodRecoverTest, ContainerThatDiedWhileNoShimWasAliveIsUnknownAndRestarted) {
  WriteManifest(UniqueName("recover-gap"),
                Spec("Always", C("side", kUntilTerm, true), C("app", kUntilTerm), 5));
  Outcome r = StartWith(false);
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids;
  ASSERT_TRUE(WaitUntil(
      [&] {
        return !(pids = RunningPids(Status(), {"side", "app"})).empty();
      },
      seconds(10)))
      << Dump();
  ASSERT_TRUE(KillShim());
  ASSERT_EQ(::kill(pids["side"], SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return !Alive(pids["side"]); }, seconds(10)));

  Outcome again = StartWith(true);
  ASSERT_EQ(again.status, 0) << again.err << Dump();
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "side", 1, seconds(10))) << Dump();
  std::vector<json> ev = Events();
  const int end = Find(ev, "ContainerExited", "side");
  ASSERT_GE(end, 0) << Dump();
  const json last = ContainerStatusOf(Status(), "side")["lastState"]["terminated"];
  if (ev[end]["reason"] == "ContainerStatusUnknown") {
    EXPECT_TRUE(ev[end]["exitCode"].is_null()) << ev[end];
    EXPECT_TRUE(last["exitCode"].is_null()) << last;
  } else {
    EXPECT_EQ(ev[end]["exitCode"], 137) << ev[end];
    EXPECT_EQ(ev[end]["signal"], "SIGKILL") << ev[end];
    EXPECT_EQ(last["exitCode"], 137) << last;
  }
  EXPECT_EQ(ev[Find(ev, "ContainerStarted", "side", 1)]["restartCount"], 1);
  EXPECT_EQ(RunningPids(Status(), {"app"}), (std::map<std::string, pid_t>{{"app", pids["app"]}}));
  StopAndWait();
  ExpectNoDuplicateEvents();
  ExpectNothingLeft();
}

// --recover with another manifest than the pod started with: refused, naming the reason, and
// the pod is left as it is (a start without --recover then stops it and starts afresh).
TEST_F(PodRecoverTest, RecoverWithAChangedManifestIsRefusedAndLeavesThePodAlone) {
  const std::string name = UniqueName("recover-changed");
  WriteManifest(name, Spec("Always", "", C("app", kUntilTerm), 5));
  Outcome r = StartWith(false);
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids;
  ASSERT_TRUE(
      WaitUntil([&] { return !(pids = RunningPids(Status(), {"app"})).empty(); }, seconds(10)))
      << Dump();
  ASSERT_TRUE(KillShim());
  WriteManifest(name, Spec("Always", "", C("app", kUntilTerm) + C("other", kUntilTerm), 5));
  Outcome refused = StartWith(true);
  EXPECT_EQ(refused.status, 1) << refused.err;
  EXPECT_NE(refused.err.find("the manifest changed since the pod started"), std::string::npos)
      << refused.err;
  EXPECT_TRUE(Alive(pids["app"]));
  shim_ = -1;
  Outcome afresh = StartWith(false);
  ASSERT_EQ(afresh.status, 0) << afresh.err;
  EXPECT_FALSE(Alive(pids["app"]));
  StopAndWait();
  ExpectNothingLeft();
}

}  // namespace
