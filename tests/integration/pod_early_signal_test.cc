// A SIGTERM or SIGINT that reaches `podshim run` while it is still setting the pod up (its first
// tens of milliseconds) ends the run by its exit status 143 or 130, as one during the pod would:
// never by the signal itself, and never with a pod cgroup, state dir or process left behind that
// would block the next run of the pod.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

using PodEarlySignalTest = PodRunTest;

// True once `pid` blocks SIGTERM and SIGINT (SigBlk in /proc/PID/status) or `pod_cgroup`
// exists; false after 10 s or when the process has ended.
bool WaitUntilPodshimRuns(pid_t pid, const fs::path& pod_cgroup) {
  const auto end = std::chrono::steady_clock::now() + seconds(10);
  const uint64_t stop_signals = (uint64_t{1} << (SIGTERM - 1)) | (uint64_t{1} << (SIGINT - 1));
  while (std::chrono::steady_clock::now() < end) {
    std::istringstream status(ReadText("/proc/" + std::to_string(pid) + "/status"));
    for (std::string line; std::getline(status, line);) {
      if (!line.starts_with("SigBlk:")) continue;
      uint64_t blocked = std::stoull(line.substr(7), nullptr, 16);
      if ((blocked & stop_signals) == stop_signals) return true;
    }
    if (fs::exists(pod_cgroup)) return true;
    siginfo_t info{};
    if (::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return false;
}

TEST_F(PodEarlySignalTest, SignalDuringSetUpEndsTheRunByItsExitStatusAndLeavesNothing) {
  WriteManifest(UniqueName("early"), Spec("Always", "", C("app", kUntilTerm), 2));
  // The delay starts once podshim's own code runs: when its stop signals are blocked (the first
  // thing `run` does, seen in /proc/PID/status) or, should they never be, when the pod cgroup
  // appears (its set-up has begun). Counting from the spawn instead would also hit the dynamic
  // loader, before any code of podshim runs (a signal there kills any program; nothing exists
  // yet), which on a loaded machine can take tens of milliseconds.
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> delay_us(0, 60000);
  const fs::path pod_cgroup =
      fs::path("/sys/fs/cgroup/unified") / CgroupParent() / ("pod-" + pod_name_);
  constexpr int kRuns = 60;
  int by_signal = 0;
  for (int i = 0; i < kRuns; ++i) {
    const int sig = i % 2 == 0 ? SIGTERM : SIGINT;
    const pid_t pid = Spawn();
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(WaitUntilPodshimRuns(pid, pod_cgroup)) << "run " << i << "\n" << Dump();
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ASSERT_EQ(::kill(pid, sig), 0);
    // Peek (WNOWAIT) whether it exited or was killed, then let the fixture reap it.
    siginfo_t info{};
    const bool ended = WaitUntil(
        [&] {
          info = {};
          return ::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                 info.si_pid == pid;
        },
        seconds(20));
    if (!ended) {
      ADD_FAILURE() << "run " << i << " did not end within 20 s of signal " << sig;
      Stop(pid);
      break;
    }
    if (info.si_code != CLD_EXITED) {
      ++by_signal;
      ADD_FAILURE() << "run " << i << " died of signal " << info.si_status << "\n" << Dump();
    }
    std::optional<int> status = PollExit(pid, seconds(1));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 128 + sig) << "run " << i << "\n" << Dump();
    // Nothing of this run blocks the next one: no pod cgroup, no process, no mount.
    ExpectNothingLeft();
    if (HasFailure()) break;
  }
  EXPECT_EQ(by_signal, 0) << "of " << kRuns << " runs";
  // And a run that is let alone afterwards starts the pod as usual.
  const pid_t pid = Spawn();
  ASSERT_TRUE(WaitForEvent("ContainerStarted", "app")) << Dump();
  EXPECT_EQ(Stop(pid), 128 + SIGTERM);
  ExpectNothingLeft();
}

}  // namespace
