// `podshim ctl upgrade --binary PATH` end to end: the running shim (the detached `podshim start`
// daemon, or `podshim run` in the foreground) re-executes itself with a second build of podshim
// (podshim_next, another version) in the same process. The shim keeps its pid, no container is
// restarted, every line the app prints reaches its log exactly once, events.jsonl neither loses
// nor repeats a line and gets one ShimUpgraded; a later stop is ordered and its exit codes exact.
// A binary that is missing, not executable or failing is refused and the pod goes on untouched.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
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

// Prints 0, 1, 2, ... every 50 ms; exits 7 on SIGTERM.
constexpr const char kCounter[] =
    "i=0; trap 'exit 7' TERM; while :; do echo \"n=$i\"; i=$((i+1)); sleep 0.05; done";

class PodUpgradeTest : public PodStartTest {
 protected:
  void WriteCounterPod(const std::string& name) {
    WriteManifest(UniqueName(name),
                  Spec("Always", C("side1", kUntilTerm, true) + C("side2", kUntilTerm, true),
                       C("app", kCounter), /*grace=*/5));
  }

  // The counter values in the app's log (restart count 0), in file order.
  std::vector<int> CounterValues() const {
    std::vector<int> values;
    std::istringstream in(ReadText(state_ / "logs" / "app" / "0.log"));
    for (std::string line; std::getline(in, line);) {
      // <time> stdout F n=<i>
      size_t at = line.find(" F n=");
      if (at == std::string::npos) continue;
      values.push_back(std::stoi(line.substr(at + 5)));
    }
    return values;
  }

  Outcome Upgrade(const std::string& binary) { return Ctl({"upgrade", "--binary", binary}); }

  std::string Version() {
    Outcome o = Ctl({"--json", "version"});
    json r = json::parse(o.out, nullptr, /*allow_exceptions=*/false);
    if (o.status != 0 || !r.is_object() || !r.contains("result")) return "";
    return r["result"]["version"].get<std::string>();
  }

  void ExpectNoDuplicateEvents() {
    std::set<std::string> seen;
    std::istringstream in(ReadText(state_ / "events.jsonl"));
    for (std::string line; std::getline(in, line);) {
      EXPECT_TRUE(seen.insert(line).second) << "written twice: " << line;
    }
  }

  // Every value from 0 to the last exactly once, in order.
  static void ExpectEveryValueOnce(const std::vector<int>& values) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i] != static_cast<int>(i)) {
        ADD_FAILURE() << "log line " << i << " is n=" << values[i];
        return;
      }
    }
  }

  // The ordered stop: the app first (exit 7, its own code on SIGTERM), then side2, then side1.
  void ExpectOrderedStop() {
    std::vector<json> ev = Events();
    const int app_end = Find(ev, "ContainerExited", "app");
    const int side2_end = Find(ev, "ContainerExited", "side2");
    const int side1_end = Find(ev, "ContainerExited", "side1");
    ASSERT_GE(app_end, 0) << Dump();
    ASSERT_GE(side2_end, 0) << Dump();
    ASSERT_GE(side1_end, 0) << Dump();
    EXPECT_LT(app_end, side2_end);
    EXPECT_LT(side2_end, side1_end);
    EXPECT_EQ(ev[app_end]["exitCode"], 7) << ev[app_end];
    EXPECT_EQ(ev[side1_end]["exitCode"], 0) << ev[side1_end];
    EXPECT_EQ(ev[side2_end]["exitCode"], 0) << ev[side2_end];
    EXPECT_EQ(ev.back()["type"], "PodFinished");
  }
};

const std::vector<std::string> kRunning = {"side1", "side2", "app"};

TEST_F(PodUpgradeTest, StartedShimUpgradesInPlaceWithoutRestartingOrLosingAnything) {
  WriteCounterPod("upgrade");
  Outcome r = Start();
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids = WaitForRunning(kRunning, seconds(15));
  ASSERT_FALSE(pids.empty()) << Dump();
  ASSERT_TRUE(WaitUntil([&] { return CounterValues().size() >= 10; }, seconds(10))) << Dump();
  const std::string old_version = Version();
  ASSERT_FALSE(old_version.empty());
  ASSERT_EQ(old_version.find("-next"), std::string::npos) << old_version;
  const size_t before = CounterValues().size();

  Outcome up = Upgrade(PODSHIM_NEXT_BINARY);
  ASSERT_EQ(up.status, 0) << up.err << Dump();
  EXPECT_NE(up.out.find("-next"), std::string::npos) << up.out;
  // The same process answers, as the new version.
  EXPECT_TRUE(Alive(shim_));
  EXPECT_EQ(ReadPid(state_ / "podshim.pid"), shim_);
  EXPECT_EQ(Version(), old_version + "-next");
  Outcome v = Ctl({"--json", "version"});
  EXPECT_NE(v.out.find("\"pid\":" + std::to_string(shim_)), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("\"handovers\":1"), std::string::npos) << v.out;
  // No container restarted: the same processes, children of the shim still.
  json status = Status();
  EXPECT_EQ(RunningPids(status, kRunning), pids) << status.dump();
  for (const std::string& name : kRunning) {
    EXPECT_EQ(ContainerStatusOf(status, name)["restartCount"], 0) << name;
    EXPECT_EQ(Count(Events(), "ContainerStarted", name), 1) << name;
    EXPECT_EQ(ParentOf(pids[name]), shim_) << name;
  }
  std::vector<json> ev = Events();
  ASSERT_EQ(Count(ev, "ShimUpgraded", ""), 1) << Dump();
  const json& upgraded = ev[Find(ev, "ShimUpgraded", "")];
  EXPECT_EQ(upgraded["from"], old_version) << upgraded;
  EXPECT_EQ(upgraded["to"], old_version + "-next") << upgraded;
  EXPECT_EQ(Count(ev, "PodStarted", ""), 1);
  // The app's output keeps coming, into the same log.
  ASSERT_TRUE(WaitUntil([&] { return CounterValues().size() >= before + 20; }, seconds(10)))
      << Dump();
  // `ctl` works on the new image (exec into a container too).
  Outcome ex = Ctl({"exec", "app", "--", "echo", "still-here"});
  EXPECT_EQ(ex.status, 0) << ex.err;
  EXPECT_NE(ex.out.find("still-here"), std::string::npos) << ex.out;

  Outcome stop = Ctl({"stop"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(30))) << Dump();
  shim_ = -1;
  ExpectOrderedStop();
  std::vector<int> values = CounterValues();
  EXPECT_GE(values.size(), before + 20);
  ExpectEveryValueOnce(values);
  ExpectNoDuplicateEvents();
  ExpectNothingLeft();
}

// The same twice in a row (the new image hands over again), then back to the first build.
TEST_F(PodUpgradeTest, UpgradedShimCanUpgradeAgain) {
  WriteCounterPod("upgrade-twice");
  Outcome r = Start();
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids = WaitForRunning(kRunning, seconds(15));
  ASSERT_FALSE(pids.empty()) << Dump();
  const std::string old_version = Version();
  Outcome up = Upgrade(PODSHIM_NEXT_BINARY);
  ASSERT_EQ(up.status, 0) << up.err << Dump();
  ASSERT_TRUE(WaitUntil([&] { return CounterValues().size() >= 10; }, seconds(10))) << Dump();
  Outcome back = Upgrade(PODSHIM_BINARY);
  ASSERT_EQ(back.status, 0) << back.err << Dump();
  EXPECT_EQ(Version(), old_version);
  Outcome v = Ctl({"--json", "version"});
  EXPECT_NE(v.out.find("\"handovers\":2"), std::string::npos) << v.out;
  EXPECT_EQ(RunningPids(Status(), kRunning), pids);
  EXPECT_EQ(Count(Events(), "ShimUpgraded", ""), 2);
  const size_t before = CounterValues().size();
  ASSERT_TRUE(WaitUntil([&] { return CounterValues().size() >= before + 10; }, seconds(10)));
  Outcome stop = Ctl({"stop"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(30))) << Dump();
  shim_ = -1;
  ExpectOrderedStop();
  ExpectEveryValueOnce(CounterValues());
  ExpectNoDuplicateEvents();
  ExpectNothingLeft();
}

TEST_F(PodUpgradeTest, BadBinaryIsRefusedAndThePodIsUntouched) {
  WriteCounterPod("upgrade-bad");
  Outcome r = Start();
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, pid_t> pids = WaitForRunning(kRunning, seconds(15));
  ASSERT_FALSE(pids.empty()) << Dump();
  const std::string old_version = Version();
  const fs::path missing = tmp_ / "no-such-podshim";
  const fs::path not_exec = tmp_ / "not-executable";
  std::ofstream(not_exec) << "#!/bin/sh\necho podshim version 9\n";
  ::chmod(not_exec.c_str(), 0644);
  const fs::path failing = tmp_ / "failing";
  std::ofstream(failing) << "#!/bin/sh\necho broken >&2\nexit 3\n";
  ::chmod(failing.c_str(), 0755);
  const fs::path impostor = tmp_ / "impostor";
  std::ofstream(impostor) << "#!/bin/sh\necho hello\n";
  ::chmod(impostor.c_str(), 0755);
  const std::vector<std::pair<fs::path, std::string>> cases = {
      {missing, "No such file or directory"}, {not_exec, "is not executable"},
      {failing, "exited with status 3"},      {impostor, "not \"podshim version X\""},
      {tmp_, "is not a regular file"},
  };
  for (const auto& [path, why] : cases) {
    Outcome up = Upgrade(path.string());
    EXPECT_EQ(up.status, 1) << path;
    EXPECT_NE(up.err.find(path.string()), std::string::npos) << up.err;
    EXPECT_NE(up.err.find(why), std::string::npos) << up.err;
    EXPECT_NE(up.err.find("bad_request"), std::string::npos) << up.err;
  }
  Outcome usage = Ctl({"upgrade"});
  EXPECT_EQ(usage.status, 2) << usage.err;
  EXPECT_NE(usage.err.find("--binary"), std::string::npos) << usage.err;
  // Untouched: the same shim, version and processes, nothing in the events.
  EXPECT_TRUE(Alive(shim_));
  EXPECT_EQ(Version(), old_version);
  EXPECT_EQ(RunningPids(Status(), kRunning), pids);
  EXPECT_EQ(Count(Events(), "ShimUpgraded", ""), 0);
  Outcome stop = Ctl({"stop"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(30))) << Dump();
  shim_ = -1;
  ExpectOrderedStop();
  ExpectEveryValueOnce(CounterValues());
  ExpectNothingLeft();
}

// While the pod terminates there is nothing to hand over safely: refused, the stop goes on.
TEST_F(PodUpgradeTest, RefusedWhileThePodTerminates) {
  WriteManifest(UniqueName("upgrade-term"),
                Spec("Always", C("side", kUntilTerm, true),
                     C("app", "trap '' TERM; while :; do sleep 0.05; done"), /*grace=*/3));
  Outcome r = Start();
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  Outcome stop = Ctl({"stop"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  Outcome up = Upgrade(PODSHIM_NEXT_BINARY);
  EXPECT_EQ(up.status, 1);
  EXPECT_NE(up.err.find("the pod is terminating"), std::string::npos) << up.err;
  EXPECT_TRUE(WaitUntil([&] { return !Alive(shim_); }, seconds(20))) << Dump();
  shim_ = -1;
  EXPECT_EQ(Count(Events(), "ShimUpgraded", ""), 0);
  EXPECT_EQ(Events().back()["type"], "PodFinished");
  ExpectNothingLeft();
}

// `podshim run` in the foreground: the process its caller waits for stays the same one and ends
// with the pod's exit status after the upgrade.
TEST_F(PodUpgradeTest, ForegroundRunUpgradesInPlace) {
  WriteCounterPod("upgrade-run");
  const pid_t pid = Spawn();
  ASSERT_GT(pid, 0);
  std::map<std::string, pid_t> pids = WaitForRunning(kRunning, seconds(15));
  ASSERT_FALSE(pids.empty()) << Dump();
  ASSERT_TRUE(WaitUntil([&] { return CounterValues().size() >= 10; }, seconds(10))) << Dump();
  Outcome up = Upgrade(PODSHIM_NEXT_BINARY);
  ASSERT_EQ(up.status, 0) << up.err << Dump();
  EXPECT_NE(Version().find("-next"), std::string::npos);
  EXPECT_EQ(RunningPids(Status(), kRunning), pids);
  const size_t before = CounterValues().size();
  ASSERT_TRUE(WaitUntil([&] { return CounterValues().size() >= before + 10; }, seconds(10)));
  Outcome stop = Ctl({"stop"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  // The app's exit 7 on SIGTERM makes the pod Failed: `run` exits 1.
  EXPECT_EQ(Wait(pid), 1) << Dump();
  ExpectOrderedStop();
  ExpectEveryValueOnce(CounterValues());
  ExpectNoDuplicateEvents();
  ExpectNothingLeft();
}

}  // namespace
