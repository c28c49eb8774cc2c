// Real pods in the VM: `podshim run` on busybox-bundle manifests, checked against the cgroup
// files the kernel holds while the pod runs (they must equal what `podshim resources` prints)
// and against real enforcement: OOM kills reported as OOMKilled with the oom marker, cpu.max
// throttling, a pod pids limit containing a fork bomb, termination leaving nothing behind
// (cgroup.kill: even a process in the container's cgroup but outside its PID namespace), and a
// container killed through cgroup.kill restarting in a fresh leaf with its limits.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "vm/vm_cgroup_skip.h"
#include "vm/vm_util.h"

namespace podshim::vmtest {
namespace {

constexpr const char* kParent = "vmtest-pods";

json Cmd(std::vector<std::string> args) { return json(std::move(args)); }

class VmPodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = VmCgroupSkipReason(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_TRUE(bundle_.error().empty()) << bundle_.error();
  }

  // Starts the pod; a build whose `podshim run` is not implemented fails the test (CI must
  // never pass the VM tier without running real pods).
  void StartOrSkip(PodDir& pod, const std::vector<std::string>& extra = {}) {
    pod.Start(extra);
    Eventually([&] { return !pod.stderr_text().empty() || fs::exists(pod.events_file()); }, 10s);
    if (pod.RunNotImplemented()) FAIL() << "podshim run: " << pod.stderr_text();
  }

  // Every value `podshim resources` prints for the pod and its containers, compared with the
  // file in the running pod's cgroups. `containers` names the leaves to read now.
  void ExpectFilesMatch(const PodDir& pod, const json& resources,
                        const std::vector<std::string>& containers, int* compared) {
    for (const auto& [file, value] : resources["pod"]["cgroup"].items()) {
      EXPECT_EQ(Trim(ReadText(pod.pod_cgroup() / file)), value.get<std::string>())
          << pod.pod_cgroup() / file;
      ++*compared;
    }
    for (const json& c : resources["containers"]) {
      std::string name = c["name"];
      if (std::find(containers.begin(), containers.end(), name) == containers.end()) continue;
      fs::path leaf = pod.leaf(name);
      EXPECT_TRUE(fs::is_directory(leaf)) << leaf;
      for (const auto& [file, value] : c["cgroup"].items()) {
        EXPECT_EQ(Trim(ReadText(leaf / file)), value.get<std::string>()) << leaf / file;
        ++*compared;
      }
    }
  }

  // Runs `pod` (whose app sleeps, whose init containers named in `inits` sleep before exiting)
  // and compares the cgroup files with `podshim resources` while each container runs; then
  // checks the pod ends and every cgroup it made is gone.
  void CheckPodCgroups(PodDir& pod, const std::vector<std::string>& inits,
                       const std::vector<std::string>& others, const std::string& qos) {
    int status = -1;
    json resources = json::parse(pod.Capture("resources", {}, &status), nullptr, false);
    ASSERT_EQ(status, 0) << ReadText(pod.dir() / "resources.err");
    ASSERT_FALSE(resources.is_discarded());
    EXPECT_EQ(resources["qosClass"], qos);

    StartOrSkip(pod);
    if (IsSkipped() || HasFatalFailure()) return;
    int compared = 0;
    for (const std::string& init : inits) {
      ASSERT_TRUE(pod.WaitForEvent("ContainerStarted", init, 60s)) << pod.stderr_text();
      ExpectFilesMatch(pod, resources, {init}, &compared);
    }
    ASSERT_TRUE(pod.WaitForEvent("ContainerStarted", "app", 60s)) << pod.stderr_text();
    ExpectFilesMatch(pod, resources, others, &compared);
    EXPECT_GT(compared, 0) << "nothing to compare: the test would prove nothing";

    PodRunResult r = pod.Wait(60s);
    EXPECT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(EventsOf(r.events, "PodFinished").size(), 1u);
    EXPECT_EQ(EventsOf(r.events, "PodFinished")[0]["phase"], "Succeeded");
    EXPECT_FALSE(fs::exists(pod.pod_cgroup())) << pod.pod_cgroup() << " left behind";
    EXPECT_FALSE(fs::exists(pod.parent_cgroup())) << pod.parent_cgroup() << " left behind";
  }

  VmBundle bundle_;
};

TEST_F(VmPodTest, GuaranteedPodCgroupsHoldTheResourcesValues) {
  PodDir pod("guaranteed", kParent);
  ASSERT_TRUE(pod.ok());
  json limits = {{"cpu", "200m"}, {"memory", "64Mi"}};
  pod.WriteManifest(
      PodManifest("guaranteed", bundle_.dir(), json::array(),
                  json::array({{{"name", "app"},
                                {"command", Cmd({"/test_proc", "sleep", "3000"})},
                                {"resources", {{"requests", limits}, {"limits", limits}}}}})));
  CheckPodCgroups(pod, {}, {"app"}, "Guaranteed");
}

TEST_F(VmPodTest, BurstablePodWithSidecarsAndInitCgroupsHoldTheResourcesValues) {
  PodDir pod("burstable", kParent);
  ASSERT_TRUE(pod.ok());
  json inits = json::array(
      {{{"name", "setup"},
        {"command", Cmd({"/test_proc", "sleep", "1500"})},
        {"resources",
         {{"requests", {{"cpu", "100m"}, {"memory", "16Mi"}}}, {"limits", {{"memory", "32Mi"}}}}}},
       {{"name", "proxy"},
        {"restartPolicy", "Always"},
        {"command", Cmd({"/test_proc", "pause"})},
        {"resources",
         {{"requests", {{"cpu", "50m"}, {"memory", "32Mi"}}},
          {"limits", {{"cpu", "250m"}, {"memory", "64Mi"}}}}}},
       {{"name", "shipper"},
        {"restartPolicy", "Always"},
        {"command", Cmd({"/test_proc", "pause"})},
        {"resources", {{"requests", {{"memory", "8Mi"}}}}}}});
  json apps = json::array({{{"name", "app"},
                            {"command", Cmd({"/test_proc", "sleep", "3000"})},
                            {"resources",
                             {{"requests", {{"cpu", "200m"}, {"memory", "64Mi"}}},
                              {"limits", {{"cpu", "500m"}, {"memory", "128Mi"}}}}}}});
  pod.WriteManifest(PodManifest("burstable", bundle_.dir(), inits, apps));
  CheckPodCgroups(pod, {"setup"}, {"proxy", "shipper", "app"}, "Burstable");
}

TEST_F(VmPodTest, BestEffortPodCgroupsHoldTheResourcesValues) {
  PodDir pod("besteffort", kParent);
  ASSERT_TRUE(pod.ok());
  pod.WriteManifest(PodManifest(
      "besteffort", bundle_.dir(),
      json::array({{{"name", "side"},
                    {"restartPolicy", "Always"},
                    {"command", Cmd({"/test_proc", "pause"})}}}),
      json::array({{{"name", "app"}, {"command", Cmd({"/test_proc", "sleep", "3000"})}}})));
  CheckPodCgroups(pod, {}, {"side", "app"}, "BestEffort");
}

TEST_F(VmPodTest, MemoryLimitOomKillsAndTheSidecarRestarts) {
  PodDir pod("oom", kParent);
  ASSERT_TRUE(pod.ok());
  json small = {{"limits", {{"memory", "32Mi"}}}};
  pod.WriteManifest(PodManifest(
      "oom", bundle_.dir(),
      json::array({{{"name", "side"},
                    {"restartPolicy", "Always"},
                    {"command", Cmd({"/test_proc", "sleep", "1000", "alloc", "96"})},
                    {"resources", small}}}),
      json::array(
          {{{"name", "hog"}, {"command", Cmd({"/test_proc", "alloc", "96"})}, {"resources", small}},
           {{"name", "steady"}, {"command", Cmd({"/test_proc", "sleep", "8000"})}}})));
  StartOrSkip(pod);
  if (IsSkipped() || HasFatalFailure()) return;
  PodRunResult r = pod.Wait(90s);
  EXPECT_EQ(r.status, 1) << "one app was OOM-killed: the pod Failed\n" << r.err;

  std::vector<json> hog = EventsOf(r.events, "ContainerExited", "hog");
  ASSERT_EQ(hog.size(), 1u) << r.err;
  EXPECT_EQ(hog[0]["reason"], "OOMKilled");
  EXPECT_EQ(hog[0]["exitCode"], 137);
  EXPECT_EQ(Trim(ReadText(pod.state() / "containers/hog/exit")), "137");
  EXPECT_TRUE(fs::exists(pod.state() / "containers/hog/oom"));

  // The sidecar is OOM-killed too, and restarted.
  std::vector<json> side = EventsOf(r.events, "ContainerExited", "side");
  ASSERT_GE(side.size(), 1u);
  EXPECT_EQ(side[0]["reason"], "OOMKilled");
  EXPECT_TRUE(fs::exists(pod.state() / "containers/side/oom"));
  bool restarted = false;
  for (const json& e : EventsOf(r.events, "ContainerStarted", "side")) {
    restarted = restarted || e.value("restartCount", 0) >= 1;
  }
  EXPECT_TRUE(restarted) << "the sidecar was not restarted after its OOM kill";

  // The pod went on: the steady app ran to completion after both OOM kills.
  std::vector<json> steady = EventsOf(r.events, "ContainerExited", "steady");
  ASSERT_EQ(steady.size(), 1u);
  EXPECT_EQ(steady[0]["reason"], "Completed");
  EXPECT_EQ(steady[0]["exitCode"], 0);
  ASSERT_EQ(EventsOf(r.events, "PodFinished").size(), 1u);
  EXPECT_EQ(EventsOf(r.events, "PodFinished")[0]["phase"], "Failed");
  EXPECT_FALSE(fs::exists(pod.pod_cgroup()));
}

// A container whose leaf got cgroup.kill (the grace-period SIGKILL) starts again: on current
// kernels nothing can be cloned into a killed cgroup any more, so each start has its own leaf,
// with the container's limits, and the ended instance's leaf is removed while the pod runs.
TEST_F(VmPodTest, SidecarKilledThroughCgroupKillRestartsInAFreshLeafWithItsLimits) {
  PodDir pod("rekill", kParent);
  ASSERT_TRUE(pod.ok());
  json limits = {{"cpu", "250m"}, {"memory", "64Mi"}};
  pod.WriteManifest(PodManifest(
      "rekill", bundle_.dir(),
      json::array({{{"name", "side"},
                    {"restartPolicy", "Always"},
                    {"command", Cmd({"/test_proc", "pause"})},
                    {"resources", {{"requests", limits}, {"limits", limits}}}}}),
      json::array({{{"name", "app"}, {"command", Cmd({"/test_proc", "sleep", "60000"})}}}), "Never",
      /*grace_seconds=*/2));
  int status = -1;
  json resources = json::parse(pod.Capture("resources", {}, &status), nullptr, false);
  ASSERT_EQ(status, 0) << ReadText(pod.dir() / "resources.err");
  json side_files;
  for (const json& c : resources["containers"]) {
    if (c["name"] == "side") side_files = c["cgroup"];
  }
  ASSERT_TRUE(side_files.contains("memory.max")) << resources.dump();

  StartOrSkip(pod);
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_TRUE(pod.WaitForEvent("ContainerStarted", "app", 60s)) << pod.stderr_text();
  // The sidecar's cgroup as the kernel reports it for its process (podshim's leaf `side-0`).
  const pid_t first_pid = EventsOf(pod.events(), "ContainerStarted", "side")[0].value("pid", 0);
  const fs::path first = CgroupOf(first_pid);
  ASSERT_FALSE(first.empty()) << "sidecar pid " << first_pid << " is not running";
  EXPECT_EQ(first, pod.leaf("side", 0));
  std::ofstream(first / "cgroup.kill") << "1" << std::flush;

  ASSERT_TRUE(pod.WaitForEvent("ContainerStarted", "side", 60s, 2)) << pod.stderr_text();
  std::vector<json> events = pod.events();
  EXPECT_TRUE(EventsOf(events, "ContainerStartFailed", "side").empty()) << pod.stderr_text();
  std::vector<json> exits = EventsOf(events, "ContainerExited", "side");
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0]["exitCode"], 137);
  std::vector<json> starts = EventsOf(events, "ContainerStarted", "side");
  EXPECT_EQ(starts[1]["restartCount"], 1);
  const pid_t pid = starts[1].value("pid", 0);

  // The second instance runs in a leaf of its own that holds the container's limits.
  const fs::path second = pod.leaf("side", 1);
  ASSERT_TRUE(fs::is_directory(second)) << second;
  std::vector<pid_t> in_second = PidsInTree(second);
  EXPECT_NE(std::find(in_second.begin(), in_second.end(), pid), in_second.end())
      << "pid " << pid << " is not in " << second;
  EXPECT_FALSE(ProcessGone(pid));
  for (const auto& [file, value] : side_files.items()) {
    EXPECT_EQ(Trim(ReadText(second / file)), value.get<std::string>()) << second / file;
  }
  // The killed instance's leaf is gone; the pod holds only the running instances' leaves.
  EXPECT_TRUE(Eventually([&] { return !fs::exists(first); }, 10s)) << first << " left behind";
  std::vector<std::string> children;
  for (const auto& e : fs::directory_iterator(pod.pod_cgroup())) {
    if (e.is_directory()) children.push_back(e.path().filename().string());
  }
  std::sort(children.begin(), children.end());
  EXPECT_EQ(children, (std::vector<std::string>{"app-0", "side-1"}));

  pod.Signal(SIGTERM);
  PodRunResult r = pod.Wait(60s);
  EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
  EXPECT_FALSE(fs::exists(pod.pod_cgroup())) << pod.pod_cgroup() << " left behind";
  EXPECT_FALSE(fs::exists(pod.parent_cgroup())) << pod.parent_cgroup() << " left behind";
}

TEST_F(VmPodTest, CpuLimitThrottlesABusyLoop) {
  PodDir pod("cpu", kParent);
  ASSERT_TRUE(pod.ok());
  pod.WriteManifest(PodManifest("cpu", bundle_.dir(), json::array(),
                                json::array({{{"name", "app"},
                                              {"command", Cmd({"/test_proc", "spin", "4000"})},
                                              {"resources", {{"limits", {{"cpu", "100m"}}}}}}})));
  StartOrSkip(pod);
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_TRUE(pod.WaitForEvent("ContainerStarted", "app", 60s)) << pod.stderr_text();
  fs::path stat = pod.leaf("app") / "cpu.stat";
  EXPECT_EQ(Trim(ReadText(pod.leaf("app") / "cpu.max")), "10000 100000");
  std::this_thread::sleep_for(300ms);
  uint64_t u0 = KeyedValue(stat, "usage_usec").value_or(0);
  uint64_t t0 = KeyedValue(stat, "nr_throttled").value_or(0);
  std::this_thread::sleep_for(2s);
  uint64_t used = KeyedValue(stat, "usage_usec").value_or(0) - u0;
  uint64_t throttled = KeyedValue(stat, "nr_throttled").value_or(0) - t0;
  // 100m is 0.2 s of CPU in 2 s; unthrottled, the loop would use close to 2 s.
  EXPECT_LT(used, 500000u);
  EXPECT_GT(throttled, 0u);
  PodRunResult r = pod.Wait(60s);
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(VmPodTest, PodPidsLimitContainsAForkBombAndThePodTerminatesInOrder) {
  PodDir pod("pids", kParent);
  ASSERT_TRUE(pod.ok());
  pod.WriteManifest(PodManifest(
      "pids", bundle_.dir(),
      json::array({{{"name", "side"},
                    {"restartPolicy", "Always"},
                    {"command", Cmd({"/test_proc", "pause"})}}}),
      json::array(
          {{{"name", "bomb"}, {"command", Cmd({"/test_proc", "fork-many", "200", "pause"})}}}),
      "Never", /*grace_seconds=*/2));
  StartOrSkip(pod, {"--pod-pids-limit", "24"});
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_TRUE(pod.WaitForEvent("ContainerStarted", "bomb", 60s)) << pod.stderr_text();
  EXPECT_EQ(Trim(ReadText(pod.pod_cgroup() / "pids.max")), "24");
  // The bomb prints "forked K failed F" to its log once every fork was tried.
  fs::path log = pod.state() / "logs" / "bomb" / "0.log";
  ASSERT_TRUE(Eventually([&] { return ReadText(log).find("forked ") != std::string::npos; }, 60s))
      << ReadText(log) << pod.stderr_text();
  std::string line = ReadText(log).substr(ReadText(log).find("forked "));
  long forked = -1, failed = -1;
  ASSERT_EQ(std::sscanf(line.c_str(), "forked %ld failed %ld", &forked, &failed), 2) << line;
  // 24 pids for the whole pod: the sidecar and the bomb itself take two.
  EXPECT_LE(forked, 22) << line;
  EXPECT_EQ(forked + failed, 200) << line;
  EXPECT_LE(NumberIn(pod.pod_cgroup() / "pids.current").value_or(0), 24u);

  pod.Signal(SIGTERM);
  PodRunResult r = pod.Wait(60s);
  EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
  // Main containers first, then the sidecar.
  int bomb_exit = -1, side_exit = -1, i = 0;
  for (const json& e : r.events) {
    if (Str(e, "type") == "ContainerExited" && Str(e, "container") == "bomb") bomb_exit = i;
    if (Str(e, "type") == "ContainerExited" && Str(e, "container") == "side") side_exit = i;
    ++i;
  }
  ASSERT_GE(bomb_exit, 0) << r.err;
  ASSERT_GE(side_exit, 0) << r.err;
  EXPECT_LT(bomb_exit, side_exit);
  ASSERT_EQ(EventsOf(r.events, "PodFinished").size(), 1u);
  EXPECT_FALSE(fs::exists(pod.pod_cgroup()));
}

TEST_F(VmPodTest, TerminationLeavesNoProcessBehind) {
  PodDir pod("kill", kParent);
  ASSERT_TRUE(pod.ok());
  pod.WriteManifest(PodManifest(
      "kill", bundle_.dir(), json::array(),
      json::array({{{"name", "stubborn"},
                    {"command", Cmd({"/test_proc", "ignore-term", "spawn-grandchild", "pause"})}}}),
      "Never", /*grace_seconds=*/1));
  StartOrSkip(pod);
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_TRUE(pod.WaitForEvent("ContainerStarted", "stubborn", 60s)) << pod.stderr_text();
  fs::path leaf = pod.leaf("stubborn");
  ASSERT_TRUE(Eventually([&] { return PidsInTree(leaf).size() == 2; }, 10s));
  std::vector<pid_t> pids = PidsInTree(leaf);
  // A host process moved into the container's cgroup (as an exec'd process would be) is outside
  // the container's PID namespace: killing the container's pid 1 does not end it, only
  // cgroup.kill does. It ignores SIGTERM too.
  pid_t stray =
      Spawn({TestProc(), "ignore-term", "pause"}, pod.dir() / "stray.out", pod.dir() / "stray.err");
  ASSERT_GT(stray, 0);
  std::ofstream(leaf / "cgroup.procs") << stray << std::endl;
  std::vector<pid_t> now = PidsInTree(leaf);
  ASSERT_NE(std::find(now.begin(), now.end(), stray), now.end()) << "could not move the stray in";

  pod.Signal(SIGTERM);
  PodRunResult r = pod.Wait(60s);
  EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
  bool sigkill = false;
  for (const json& e : EventsOf(r.events, "SignalSent")) {
    sigkill = sigkill || Str(e, "signal") == "SIGKILL";
  }
  EXPECT_TRUE(sigkill) << "both processes ignore SIGTERM: only the grace-period SIGKILL ends them";
  for (pid_t p : pids) {
    EXPECT_TRUE(Eventually([&] { return ProcessGone(p); }, 5s)) << "pid " << p << " survived";
  }
  EXPECT_EQ(WaitFor(stray, 5s), 128 + SIGKILL) << "the stray in the container's cgroup survived";
  EXPECT_FALSE(fs::exists(pod.pod_cgroup()));
}

}  // namespace
}  // namespace podshim::vmtest
