// `podshim start --recover` end to end: a shim SIGKILLed while its pod runs is replaced by one
// that takes the pod back from the state dir (supervisor journal, /proc, the pod cgroup) instead
// of stopping it. No container restarts, restart counts, back-off and a termination's deadline
// go on where they were, events.jsonl neither loses nor repeats a line, and a container that
// died while no shim was alive is recorded as ended with an unknown exit and restarted.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
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
  // A sidecar killed while no shim (and, with `kill_keeper`, no keeper) was alive.
  void DiedWhileNoShimWasAlive(bool kill_keeper);
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
  std::map<std::string, pid_t> pids = WaitForRunning(running, seconds(15));
  ASSERT_FALSE(pids.empty()) << Dump();
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
  // The sidecar waits for the app until the grace runs out (SEMANTICS 6.2: it then gets SIGTERM
  // with the 2 s minimum, as the app gets SIGKILL), as before the crash. Which of the two then
  // ends first is a race, even without a crash.
  const int side_term = FindWith(ev, "SignalSent", "side", "signal", "SIGTERM");
  ASSERT_GE(side_term, 0) << Dump();
  EXPECT_NEAR(EventSeconds(ev[side_term]) - EventSeconds(ev[started]), 3.0, 0.75) << Dump();
  EXPECT_GE(FindWith(ev, "ContainerExited", "app", "exitCode", 137), 0) << Dump();
  EXPECT_EQ(ev.back()["type"], "PodFinished");
  ExpectNoDuplicateEvents();
  ExpectNothingLeft();
}

// A sidecar killed while no shim was alive is recorded as ended and restarted, as sidecars
// always are; the app runs on untouched. Its status is exact when the dead shim's keeper reaped
// it (it wrote the exit file); with the keeper killed too, init reaps it, and the status is its
// zombie's if that was still there, else unknown (never a made-up code).
void PodRecoverTest::DiedWhileNoShimWasAlive(bool kill_keeper) {
  WriteManifest(UniqueName("recover-gap"),
                Spec("Always", C("side", kUntilTerm, true), C("app", kUntilTerm), 5));
  Outcome r = StartWith(false);
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids = WaitForRunning({"side", "app"});
  ASSERT_FALSE(pids.empty()) << Dump();
  const pid_t keeper = ParentOf(shim_);
  ASSERT_TRUE(KillShim());
  if (kill_keeper) {
    ASSERT_EQ(::kill(keeper, SIGKILL), 0);
    ASSERT_TRUE(WaitUntil([&] { return !Alive(keeper); }, seconds(10)));
  }
  ASSERT_EQ(::kill(pids["side"], SIGKILL), 0);
  ASSERT_TRUE(WaitUntil([&] { return !Alive(pids["side"]); }, seconds(10)));

  Outcome again = StartWith(true);
  ASSERT_EQ(again.status, 0) << again.err << Dump();
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "side", 1, seconds(10))) << Dump();
  std::vector<json> ev = Events();
  const int end = Find(ev, "ContainerExited", "side");
  ASSERT_GE(end, 0) << Dump();
  const json last = ContainerStatusOf(Status(), "side")["lastState"]["terminated"];
  if (kill_keeper && ev[end]["reason"] == "ContainerStatusUnknown") {
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

TEST_F(PodRecoverTest, ContainerThatDiedWhileNoShimWasAliveKeepsItsExitAndIsRestarted) {
  DiedWhileNoShimWasAlive(/*kill_keeper=*/false);
}

TEST_F(PodRecoverTest, WithoutAKeeperAContainerThatDiedUnseenIsUnknownOrItsZombiesAndRestarted) {
  DiedWhileNoShimWasAlive(/*kill_keeper=*/true);
}

// --recover with another manifest than the pod started with: refused, naming the reason, and
// the pod is left as it is (a start without --recover then stops it and starts afresh).
TEST_F(PodRecoverTest, RecoverWithAChangedManifestIsRefusedAndLeavesThePodAlone) {
  const std::string name = UniqueName("recover-changed");
  WriteManifest(name, Spec("Always", "", C("app", kUntilTerm), 5));
  Outcome r = StartWith(false);
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids = WaitForRunning({"app"});
  ASSERT_FALSE(pids.empty()) << Dump();
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

// --- The pod keeper (docs/decisions.md, "The pod keeper") ------------------------------------

// The keeper processes of this test's state dir (`podshim-keeper --state-dir <state> ...`).
std::vector<pid_t> KeeperPids(const fs::path& state) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadText(entry.path() / "cmdline");
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    if (cmdline.starts_with("podshim-keeper --state-dir " + state.string() + " ") &&
        Alive(std::stoi(pid))) {
      out.push_back(std::stoi(pid));
    }
  }
  return out;
}

// Nothing of a keeper stays once the pod ended: no process, no socket, no orphan exits.
void ExpectNoKeeperLeft(const fs::path& state) {
  EXPECT_TRUE(WaitUntil([&] { return KeeperPids(state).empty(); }, seconds(10)))
      << KeeperPids(state).size() << " keeper(s) left";
  EXPECT_FALSE(fs::exists(state / "keeper.sock"));
  EXPECT_FALSE(fs::exists(state / "orphan-exits"));
}

// The CRI log lines' contents ("<time> stdout F <content>") of `file`.
std::vector<std::string> LogContents(const fs::path& file) {
  std::vector<std::string> out;
  std::istringstream in(ReadText(file));
  for (std::string line; std::getline(in, line);) {
    size_t at = 0;
    for (int i = 0; i < 3 && at != std::string::npos; ++i) at = line.find(' ', at + 1);
    out.push_back(at == std::string::npos ? line : line.substr(at + 1));
  }
  return out;
}

// `kv` of /proc/<pid>/<file> ("VmRSS:   1234 kB" -> 1234), or -1.
long ProcKb(pid_t pid, const std::string& file, const std::string& key) {
  std::istringstream in(ReadText("/proc/" + std::to_string(pid) + "/" + file));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key + ":")) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

// `start` makes the keeper the shim's parent (a child subreaper, so the shim's orphans come to
// it); it ends with the pod and leaves nothing. Its memory with 5 containers is printed.
TEST_F(PodRecoverTest, KeeperIsTheShimsParentAndEndsWithThePod) {
  WriteManifest(UniqueName("keeper-plain"),
                Spec("Always", C("s1", kUntilTerm, true) + C("s2", kUntilTerm, true),
                     C("a1", kUntilTerm) + C("a2", kUntilTerm) + C("a3", kUntilTerm), 5));
  Outcome r = StartWith(false);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(WaitUntil(
      [&] {
        return RunningPids(Status(), {"s1", "s2", "a1", "a2", "a3"}).size() == 5;
      },
      seconds(15)))
      << Dump();
  std::vector<pid_t> keepers = KeeperPids(state_);
  ASSERT_EQ(keepers.size(), 1u);
  EXPECT_EQ(ParentOf(shim_), keepers[0]);
  EXPECT_NE(ParentOf(keepers[0]), ::getpid()) << "the keeper is the detached daemon";
  // It holds the ten pipes (stdout and stderr of five containers) and listens for a taker.
  EXPECT_TRUE(WaitUntil([&] { return fs::exists(state_ / "keeper.sock"); }, seconds(5)));
  const long rss = ProcKb(keepers[0], "status", "VmRSS");
  const long pss = ProcKb(keepers[0], "smaps_rollup", "Pss");
  std::cout << "keeper with 5 containers: VmRSS " << rss << " kB, Pss " << pss << " kB\n";
  EXPECT_GT(rss, 0);
  EXPECT_LT(rss, 16 * 1024) << "a fresh image holding fds, nothing more";
  StopAndWait();
  ExpectNoKeeperLeft(state_);
  ExpectNothingLeft();
}

// A sidecar printing a counter every 50 ms outlives its shim's SIGKILL: the keeper held its
// pipe, so what it wrote while no shim was alive waited there and reaches the log once the new
// shim took the pipe back. Every value is in the log exactly once, in order.
TEST_F(PodRecoverTest, OutputWrittenWhileNoShimWasAliveReachesTheLog) {
  WriteManifest(
      UniqueName("keeper-log"),
      Spec("Always",
           C("counter",
             "trap 'exit 0' TERM; i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done", true),
           C("app", kUntilTerm), 5));
  Outcome r = StartWith(false);
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids = WaitForRunning({"counter", "app"});
  ASSERT_FALSE(pids.empty()) << Dump();
  const fs::path log = state_ / "logs/counter/0.log";
  ASSERT_TRUE(WaitUntil([&] { return LogContents(log).size() >= 5; }, seconds(10))) << Dump();
  ASSERT_TRUE(KillShim());
  const size_t at_kill = LogContents(log).size();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // ~30 lines with no shim
  EXPECT_EQ(LogContents(log).size(), at_kill) << "no shim was there to write them";

  Outcome again = StartWith(true);
  ASSERT_EQ(again.status, 0) << again.err << Dump();
  json status = Status();
  EXPECT_EQ(RunningPids(status, {"counter"}).at("counter"), pids["counter"]) << status.dump();
  EXPECT_EQ(ContainerStatusOf(status, "counter")["restartCount"], 0);
  ASSERT_TRUE(WaitUntil([&] { return LogContents(log).size() >= at_kill + 40; }, seconds(10)))
      << LogContents(log).size() << " lines, " << at_kill << " at the kill\n"
      << Dump();
  StopAndWait();
  EXPECT_TRUE(Alive(pids["counter"]) == false);
  const std::vector<std::string> lines = LogContents(log);
  ASSERT_GE(lines.size(), at_kill + 40);
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i], std::to_string(i)) << "line " << i << " of " << lines.size();
  }
  EXPECT_EQ(Count(Events(), "ContainerStarted", "counter"), 1);
  ExpectNoDuplicateEvents();
  ExpectNoKeeperLeft(state_);
  ExpectNothingLeft();
}

// An app taken back after the crash is no child of the new shim: its exit code comes from the
// file the dead shim's keeper (its parent now) wrote when it reaped it, not "unknown".
TEST_F(PodRecoverTest, AdoptedContainersExitCodeComesFromTheKeeper) {
  WriteManifest(UniqueName("keeper-exit"),
                Spec("Always", C("side", kUntilTerm, true),
                     C("app", "trap 'exit 7' TERM; while :; do sleep 0.05; done"), 5));
  Outcome r = StartWith(false);
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids = WaitForRunning({"side", "app"});
  ASSERT_FALSE(pids.empty()) << Dump();
  const std::vector<pid_t> first_keeper = KeeperPids(state_);
  ASSERT_EQ(first_keeper.size(), 1u);
  ASSERT_TRUE(KillShim());
  // The containers are the keeper's children now.
  EXPECT_TRUE(WaitUntil([&] { return ParentOf(pids["app"]) == first_keeper[0]; }, seconds(5)));

  Outcome again = StartWith(true);
  ASSERT_EQ(again.status, 0) << again.err << Dump();
  EXPECT_EQ(RunningPids(Status(), {"app"}).at("app"), pids["app"]);
  StopAndWait();
  std::vector<json> ev = Events();
  const int app_end = Find(ev, "ContainerExited", "app");
  ASSERT_GE(app_end, 0) << Dump();
  EXPECT_EQ(ev[app_end]["exitCode"], 7) << ev[app_end];
  const int side_end = Find(ev, "ContainerExited", "side");
  ASSERT_GE(side_end, 0) << Dump();
  EXPECT_EQ(ev[side_end]["exitCode"], 0) << ev[side_end];
  EXPECT_EQ(ContainerStatusOf(Status(), "app")["state"]["terminated"]["exitCode"], 7)
      << Status().dump();
  ExpectNoDuplicateEvents();
  ExpectNoKeeperLeft(state_);
  ExpectNothingLeft();
}

}  // namespace
