// The shim holds no file descriptor for a container instance that has ended: a pod of many
// short containers used to keep one fd open per finished container (the instance's log file,
// held by its finished output pumps until some later start), so a 5,000-container pod failed at
// container 4,993. The same pod shape with N and with 2N finished containers must leave the
// shim with the same number of fds.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kN = 15;

class PodFdLeakTest : public PodRunTest {
 protected:
  int FdCount(pid_t pid) const {
    int n = 0;
    std::error_code ec;
    for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
         !ec && it != end; it.increment(ec)) {
      ++n;
    }
    return n;
  }

  // Runs a pod of `short_count` containers that exit at once beside `keeper`, which runs until
  // the test lets it go. Once every short one has exited, calls `measure(shim pid)` while only
  // the keeper runs, then lets the pod finish.
  template <typename Measure>
  void RunPod(const std::string& name, int short_count, Measure measure) {
    fs::remove(CtlDir() / "stop");
    const std::string ctl_mount = "{name: ctl, mountPath: /ctl}";
    std::string apps =
        C("keeper", "while [ ! -e /ctl/stop ]; do sleep 0.05; done; exit 0", false, ctl_mount);
    for (int i = 0; i < short_count; ++i) {
      apps += C("short" + std::to_string(i), "echo out; echo err >&2; exit 0");
    }
    WriteManifest(UniqueName(name), Spec("Never", "", apps, 5, CtlVolume()));
    fs::remove_all(state_);
    pid_t shim = Spawn();
    ASSERT_GT(shim, 0);
    const bool all_exited = WaitUntil(
        [&] {
          auto ev = Events();
          return static_cast<int>(std::count_if(ev.begin(), ev.end(), [](const json& e) {
                   return e["type"] == "ContainerExited";
                 })) == short_count;
        },
        30s);
    EXPECT_TRUE(all_exited) << Dump();
    if (all_exited) measure(shim);
    std::ofstream(CtlDir() / "stop") << "";
    EXPECT_EQ(WaitBounded(shim, 30s), 0) << Dump();
  }
};

TEST_F(PodFdLeakTest, FinishedContainersLeaveNoFdOpen) {
  // After N finished: the fewest fds seen over a second (outputs of the last ones to exit may
  // still be being read).
  int after_n = 0;
  RunPod("fds-n", kN, [&](pid_t shim) {
    after_n = FdCount(shim);
    for (int i = 0; i < 20; ++i) {
      std::this_thread::sleep_for(50ms);
      after_n = std::min(after_n, FdCount(shim));
    }
  });
  ASSERT_GT(after_n, 0);
  // After 2N finished: as many (a small allowance for a pipe not yet read to its end); one fd
  // per finished container would be N more.
  int after_2n = 0;
  RunPod("fds-2n", 2 * kN, [&](pid_t shim) {
    WaitUntil([&] { return (after_2n = FdCount(shim)) <= after_n + 2; }, 5s);
  });
  EXPECT_LE(after_2n, after_n + 2) << "after " << kN << " finished containers: " << after_n
                                   << " fds; after " << 2 * kN << ": " << after_2n;
  ExpectNothingLeft();
}

}  // namespace
