// A container killed through cgroup.kill starts again. On current kernels (6.18) a cgroup that
// once received cgroup.kill kills every later clone3(CLONE_INTO_CGROUP) child at birth, so a
// relaunch into the same leaf failed for ever ("read child report: Connection reset by peer").
// Each start now gets a fresh leaf; the ended instance's leaf is removed while the pod runs.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;

// The cgroup2 mount: the hybrid host's unified mount, or /sys/fs/cgroup on a pure v2 host.
fs::path Cgroup2Mount() {
  return fs::exists("/sys/fs/cgroup/unified/cgroup.procs") ? fs::path("/sys/fs/cgroup/unified")
                                                           : fs::path("/sys/fs/cgroup");
}

// The cgroup of `pid` relative to the cgroup2 mount ("/podshim-itest-<pid>/pod-x/side-0"), or "".
std::string CgroupOf(int pid) {
  std::istringstream in(ReadText("/proc/" + std::to_string(pid) + "/cgroup"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "";
}

class PodRestartCgroupTest : public PodRunTest {
 protected:
  // Sidecar `side` appends a line to /shared/starts each time it starts and runs until killed
  // (`side_script` decides how it takes SIGTERM). The app succeeds once the sidecar has started
  // twice (so the restarted sidecar really ran) plus 1 s, in which the tests look at the pod's
  // leaves (without it the pod could end 10 ms after the restart), and fails after ~15 s otherwise.
  void WritePod(const std::string& base, const std::string& side_prefix, int grace) {
    WriteManifest(
        UniqueName(base),
        Spec("Never",
             C("side", side_prefix + "echo x >> /shared/starts; while :; do sleep 0.05; done",
               /*sidecar=*/true),
             C("app",
               "i=0; while [ \"$(cat /shared/starts 2>/dev/null | wc -l)\" -lt 2 ]; do "
               "i=$((i+1)); [ $i -gt 300 ] && exit 1; sleep 0.05; done; sleep 1; exit 0"),
             grace));
  }

  // Waits until the sidecar's instances have written `n` lines to /shared/starts (the emptyDir is
  // <state-dir>/volumes/shared on the host): a sidecar killed before its first line was written
  // would leave the app waiting for a second line that never comes.
  bool WaitForStarts(int n) {
    return WaitUntil(
        [&] {
          const std::string text = ReadText(state_ / "volumes" / "shared" / "starts");
          return std::count(text.begin(), text.end(), '\n') >= n;
        },
        20s);
  }

  // The pid the n-th ContainerStarted of `container` reported.
  int StartedPid(const std::string& container, int n) {
    auto ev = Events();
    int i = Find(ev, "ContainerStarted", container, n);
    return i < 0 ? 0 : ev[i].value("pid", 0);
  }

  // The cgroups below the pod cgroup (their names).
  std::set<std::string> PodChildren() const {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(Cgroup2Mount() / PodCgroupPath().substr(1), ec)) {
      if (e.is_directory()) out.insert(e.path().filename().string());
    }
    return out;
  }

  // After the sidecar's restart: it runs in a leaf of its own, the first instance's leaf is
  // gone, and the pod holds no leaf but those of the running instances.
  void ExpectFreshLeafAndOldOneRemoved(pid_t shim, const std::string& first_leaf) {
    ASSERT_TRUE(WaitForEventN("ContainerStarted", "side", 1, 20s, shim)) << Dump();
    const int side_pid = StartedPid("side", 1);
    const std::string second_leaf = CgroupOf(side_pid);
    ASSERT_FALSE(second_leaf.empty()) << "the restarted sidecar " << side_pid << " is not running";
    EXPECT_NE(second_leaf, first_leaf);
    EXPECT_EQ(fs::path(second_leaf).parent_path(), fs::path(PodCgroupPath()));
    EXPECT_TRUE(WaitUntil([&] { return !fs::exists(Cgroup2Mount() / first_leaf.substr(1)); }, 10s))
        << first_leaf << " of the killed instance is still there";
    const std::string app_leaf = CgroupOf(StartedPid("app", 0));
    std::set<std::string> want = {fs::path(second_leaf).filename().string(),
                                  fs::path(app_leaf).filename().string()};
    EXPECT_TRUE(WaitUntil([&] { return PodChildren() == want; }, 10s))
        << "pod cgroups: " << json(PodChildren()).dump();
  }

  // The pod completes: the app saw the second start; the sidecar started twice and never
  // failed to start.
  void ExpectPodSucceeded(pid_t shim) {
    EXPECT_EQ(WaitBounded(shim, 60s), 0) << Dump();
    auto ev = Events();
    EXPECT_EQ(Count(ev, "ContainerStartFailed", "side"), 0) << Dump();
    int second = Find(ev, "ContainerStarted", "side", 1);
    ASSERT_GE(second, 0) << Dump();
    EXPECT_EQ(ev[second]["restartCount"], 1);
    int fin = Find(ev, "PodFinished");
    ASSERT_GE(fin, 0) << Dump();
    EXPECT_EQ(ev[fin]["phase"], "Succeeded");
    ExpectNothingLeft();
  }
};

TEST_F(PodRestartCgroupTest, SidecarKilledThroughCgroupKillRestartsInAFreshLeaf) {
  WritePod("rcg-kill", "", 2);
  pid_t shim = Spawn();
  ASSERT_GT(shim, 0);
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "side", 0, 20s, shim)) << Dump();
  const std::string first_leaf = CgroupOf(StartedPid("side", 0));
  ASSERT_EQ(fs::path(first_leaf).parent_path(), fs::path(PodCgroupPath())) << first_leaf;
  ASSERT_TRUE(WaitForStarts(1)) << Dump();
  // What the grace-period SIGKILL does: cgroup.kill of the container's leaf.
  std::ofstream(Cgroup2Mount() / first_leaf.substr(1) / "cgroup.kill") << "1" << std::flush;
  ExpectFreshLeafAndOldOneRemoved(shim, first_leaf);
  if (HasFatalFailure()) return;
  auto ev = Events();
  int exited = Find(ev, "ContainerExited", "side");
  ASSERT_GE(exited, 0) << Dump();
  EXPECT_EQ(ev[exited]["exitCode"], 137);
  ExpectPodSucceeded(shim);
}

TEST_F(PodRestartCgroupTest, RestartOfASidecarIgnoringSigtermKillsItAndStartsItAgain) {
  // SIGTERM ignored: `ctl restart` ends it with the SIGKILL after the pod's 1 s grace, which
  // podshim sends through cgroup.kill.
  WritePod("rcg-restart", "trap '' TERM; ", 1);
  pid_t shim = Spawn();
  ASSERT_GT(shim, 0);
  ASSERT_TRUE(WaitForEventN("ContainerStarted", "side", 0, 20s, shim)) << Dump();
  const std::string first_leaf = CgroupOf(StartedPid("side", 0));
  ASSERT_FALSE(first_leaf.empty()) << Dump();
  ASSERT_TRUE(WaitForStarts(1)) << Dump();
  const std::string ctl = std::string(PODSHIM_BINARY) + " ctl --socket " +
                          (state_ / "podshim.sock").string() + " restart side >" +
                          (tmp_ / "ctl.out").string() + " 2>&1 </dev/null";
  ASSERT_EQ(std::system(ctl.c_str()), 0) << ReadText(tmp_ / "ctl.out");
  ExpectFreshLeafAndOldOneRemoved(shim, first_leaf);
  if (HasFatalFailure()) return;
  EXPECT_GE(FindWith(Events(), "SignalSent", "side", "signal", "SIGKILL"), 0) << Dump();
  ExpectPodSucceeded(shim);
}

}  // namespace
