// A full state filesystem does not hurt the pod: containers are still supervised and restarted,
// the error is logged, no `*.tmp` file is left behind, and every exit record, event and status
// that could not be written is written once space returns. It used to report exits with no exit
// record written, lose the events and leave zero-byte temporary files and a stale status.json.
//
// The shim runs in a private mount namespace (`unshare -m`) with its state dir on a small tmpfs,
// so the host's mounts are never touched; the test reaches the tmpfs through
// /proc/<shim>/root, and the namespace goes away with the shim.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "integration/pod_fixture.h"

namespace {

using namespace podshim::pod_test;  // NOLINT: the fixture and its helpers
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;

class PodFullDiskTest : public PodRunTest {
 protected:
  void TearDown() override {
    if (shim_ > 0) {  // a failed assertion while the shim ran: stop the pod first
      ::kill(shim_, SIGTERM);
      if (!PollExit(shim_, 20s)) {
        ::kill(shim_, SIGINT);  // the second signal: kill everything now
        int st = 0;
        ::waitpid(shim_, &st, 0);
      }
      shim_ = -1;
    }
    PodRunTest::TearDown();
  }

  // `podshim run` in a new mount namespace, with state_ a tmpfs of `size` there.
  void SpawnOnTmpfs(const std::string& size) {
    fs::create_directories(state_);
    std::vector<std::string> argv = {
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount -t tmpfs -o size=" + size + ",mode=0700 podshim-fulldisk \"$0\" && exec \"$@\"",
        state_.string()};
    for (std::string& a : Argv({})) argv.push_back(std::move(a));
    shim_ = SpawnProgram("unshare", std::move(argv));
    ASSERT_GT(shim_, 0);
    Reaped(shim_);  // this test stops and reaps shim_ itself (TearDown above)
  }

  // The state dir as the shim sees it (on its tmpfs).
  fs::path State() const {
    return fs::path("/proc/" + std::to_string(shim_) + "/root") / state_.relative_path();
  }

  // Every line of events.jsonl; a line that is not JSON (half written) fails the test.
  std::vector<json> ShimEvents() const {
    std::vector<json> out;
    std::istringstream in(ReadText(State() / "events.jsonl"));
    for (std::string line; std::getline(in, line);) {
      json e = json::parse(line, nullptr, /*allow_exceptions=*/false);
      EXPECT_FALSE(e.is_discarded()) << "not a whole event: " << line;
      out.push_back(std::move(e));
    }
    return out;
  }

  // Appends to <state>/filler until the tmpfs is full (ENOSPC).
  void Fill() {
    int fd = ::open((State() / "filler").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0) << ::strerror(errno);
    std::string block(4096, 'f');
    ssize_t n = 0;
    while ((n = ::write(fd, block.data(), block.size())) > 0) {
    }
    const int err = errno;
    ::close(fd);
    ASSERT_EQ(n, -1);
    ASSERT_EQ(err, ENOSPC) << ::strerror(err);
  }

  std::vector<std::string> TmpFiles() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(State(), ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->path().extension() == ".tmp") out.push_back(it->path().string());
    }
    return out;
  }

  int Starts() const {
    std::istringstream in(ReadText(CtlDir() / "starts"));
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }

  bool ShimRunning() const {
    siginfo_t info{};
    return ::waitid(P_PID, shim_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
  }

  pid_t shim_ = -1;
};

TEST_F(PodFullDiskTest, PodGoesOnAndEverythingIsWrittenWhenSpaceReturns) {
  // Instance i (1-based, counted in the host directory /ctl, which is not on the tmpfs) runs
  // until the test creates /ctl/exit-<i>, then exits with 10+i.
  const std::string ctl_mount = "{name: ctl, mountPath: /ctl}";
  WriteManifest(UniqueName("fulldisk"),
                Spec("Always", "",
                     C("app",
                       "trap 'exit 0' TERM; echo x >> /ctl/starts; i=$(wc -l < /ctl/starts); "
                       "echo \"instance $i\"; while [ ! -e /ctl/exit-$i ]; do sleep 0.05; done; "
                       "exit $((10 + i))",
                       false, ctl_mount),
                     5, CtlVolume()));
  SpawnOnTmpfs("256k");
  ASSERT_GT(shim_, 0);
  ASSERT_TRUE(WaitUntil([&] { return Starts() == 1; }, 20s)) << ReadText(tmp_ / "shim.err");
  ASSERT_TRUE(WaitUntil(
      [&] { return Find(ShimEvents(), "ContainerStarted", "app") >= 0 && fs::exists(State()); },
      10s));

  // Two exits and restarts on a full disk (topped up before each: a file the shim replaces
  // frees a page now and then).
  for (int i = 1; i <= 2; ++i) {
    Fill();
    std::ofstream(CtlDir() / ("exit-" + std::to_string(i))) << "";
    ASSERT_TRUE(WaitUntil([&] { return Starts() == i + 1; }, 20s))
        << "no restart after exit " << i << "\n"
        << ReadText(tmp_ / "shim.err");
  }
  EXPECT_TRUE(ShimRunning());
  EXPECT_EQ(TmpFiles(), std::vector<std::string>{});
  const std::string err = ReadText(tmp_ / "shim.err");
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_NE(err.find("cannot write exit records"), std::string::npos) << err;

  // Space returns: the exit record, every event and the status appear, complete.
  fs::remove(State() / "filler");
  auto complete = [&] {
    auto ev = ShimEvents();
    json app =
        ContainerStatusOf(json::parse(ReadText(State() / "status.json"), nullptr, false), "app");
    return ReadText(State() / "containers" / "app" / "exit") == "12\n" &&
           Count(ev, "ContainerStarted", "app") == 3 &&
           FindWith(ev, "ContainerExited", "app", "exitCode", 11) >= 0 &&
           FindWith(ev, "ContainerExited", "app", "exitCode", 12) >= 0 && app.is_object() &&
           app.value("restartCount", -1) == 2 && app["state"].contains("running") &&
           app["lastState"].contains("terminated") &&
           app["lastState"]["terminated"].value("exitCode", -1) == 12;
  };
  EXPECT_TRUE(WaitUntil(complete, 10s))
      << ReadText(State() / "events.jsonl") << ReadText(State() / "status.json") << err;
  auto ev = ShimEvents();
  EXPECT_EQ(Count(ev, "ContainerExited", "app"), 2);
  EXPECT_LT(FindWith(ev, "ContainerExited", "app", "exitCode", 11),
            FindWith(ev, "ContainerStarted", "app", "restartCount", 1));
  EXPECT_LT(FindWith(ev, "ContainerExited", "app", "exitCode", 12),
            FindWith(ev, "ContainerStarted", "app", "restartCount", 2));
  EXPECT_EQ(TmpFiles(), std::vector<std::string>{});

  ::kill(shim_, SIGTERM);
  std::optional<int> status = PollExit(shim_, 20s);
  if (status) shim_ = -1;
  EXPECT_EQ(status, 128 + SIGTERM);
  ExpectNothingLeft();
}

}  // namespace
