// The termination plan driven by the real pieces, the way shim/event_loop.cc will drive it:
// signalfd(SIGCHLD) -> ReapAll -> plan.OnContainerExited; poll timeout at NextDeadline ->
// plan.OnDeadline; actions carried out with PidfdSignaller. Real test_proc children, real time,
// a 1 s grace; run in a forked helper (it blocks SIGCHLD and reaps every child).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <map>

#include "common/clock.h"
#include "common/sys.h"
#include "fixtures/fakes/recording_signaller.h"
#include "signals/pidfd.h"
#include "signals/reaper.h"
#include "signals/signal_fd.h"
#include "signals/termination_plan.h"
#include "unit/signals/child_process.h"

namespace podshim::signals {
namespace {

using namespace std::chrono_literals;
using testing::RunForked;
using testing::SpawnTestProc;

struct Running {
  ProcessHandle handle;
  std::optional<Clock::TimePoint> signalled, killed, exited;
  int status = -1;
};

std::string RunPod() {
  SteadyClock clock;
  auto sfd = SignalFd::Open({SIGCHLD});
  PODSHIM_FORKED_CHECK(sfd, sfd.error().ToString());
  PODSHIM_FORKED_CHECK(BecomeSubreaper(), "subreaper");

  // sc1 ignores SIGTERM (forces SIGKILL), sc2 and the app die of SIGTERM.
  const std::vector<std::pair<std::string, std::vector<std::string>>> specs = {
      {"sc1", {"ignore-term", "pause"}}, {"sc2", {"pause"}}, {"app", {"pause"}}};
  std::map<std::string, Running> pod;
  std::map<pid_t, std::string> by_pid;
  for (const auto& [name, args] : specs) {
    const pid_t pid = SpawnTestProc(args);
    PODSHIM_FORKED_CHECK(pid > 0, "spawn " + name);
    auto fd = sys::PidfdOpen(pid);
    PODSHIM_FORKED_CHECK(fd, fd.error().ToString());
    pod[name].handle = ProcessHandle(pid, std::move(*fd));
    by_pid[pid] = name;
  }
  ::usleep(100 * 1000);  // let test_proc set up its SIGTERM disposition

  auto plan =
      TerminationPlan::Create(clock,
                              {{.name = "sc1", .role = ContainerRole::kSidecar, .running = true},
                               {.name = "sc2", .role = ContainerRole::kSidecar, .running = true},
                               {.name = "app", .role = ContainerRole::kApp, .running = true}},
                              1s);
  PODSHIM_FORKED_CHECK(plan, plan.error().ToString());
  const Clock::TimePoint t0 = clock.Now();
  PidfdSignaller signaller;
  std::string failure;
  auto carry_out = [&](const std::vector<TerminationAction>& actions) {
    for (const TerminationAction& a : actions) {
      Running& r = pod[a.container];
      if (a.kind == TerminationAction::Kind::kSignal) r.signalled = clock.Now();
      if (a.kind == TerminationAction::Kind::kKill) r.killed = clock.Now();
      if (a.kind == TerminationAction::Kind::kStartPreStop) continue;
      if (auto s = signaller.Signal(r.handle, a.signal); !s) failure = s.error().ToString();
    }
  };
  carry_out(plan->Start());
  while (!plan->Done() && failure.empty() && clock.Now() - t0 < 10s) {
    int timeout_ms = 1000;
    if (auto next = plan->NextDeadline()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - clock.Now());
      timeout_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
    }
    struct pollfd p = {.fd = sfd->fd(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, timeout_ms) == 1) {
      auto batch = sfd->ReadBatch();
      PODSHIM_FORKED_CHECK(batch, batch.error().ToString());
      auto exits = ReapAll();
      PODSHIM_FORKED_CHECK(exits, exits.error().ToString());
      for (const ExitEvent& ev : *exits) {
        const std::string& name = by_pid[ev.pid];
        pod[name].exited = clock.Now();
        pod[name].status = ev.status;
        carry_out(plan->OnContainerExited(name));
      }
    }
    carry_out(plan->OnDeadline());
  }
  PODSHIM_FORKED_CHECK(failure.empty(), failure);
  PODSHIM_FORKED_CHECK(plan->Done(), "plan not done after 10 s");

  auto ms = [&](std::optional<Clock::TimePoint> t) {
    return t ? std::chrono::duration_cast<std::chrono::milliseconds>(*t - t0).count() : -1;
  };
  const std::string timeline = " (app term " + std::to_string(ms(pod["app"].signalled)) +
                               "ms, sc2 term " + std::to_string(ms(pod["sc2"].signalled)) +
                               "ms, sc1 term " + std::to_string(ms(pod["sc1"].signalled)) +
                               "ms, sc1 kill " + std::to_string(ms(pod["sc1"].killed)) + "ms)";
  PODSHIM_FORKED_CHECK(pod["app"].status == 143, "app status" + timeline);
  PODSHIM_FORKED_CHECK(pod["sc2"].status == 143, "sc2 status" + timeline);
  PODSHIM_FORKED_CHECK(pod["sc1"].status == 137, "sc1 status" + timeline);
  // Order: the app first, then sc2 after the app exited, then sc1 after sc2 exited.
  PODSHIM_FORKED_CHECK(pod["sc2"].signalled >= pod["app"].exited, "sc2 too early" + timeline);
  PODSHIM_FORKED_CHECK(pod["sc1"].signalled >= pod["sc2"].exited, "sc1 too early" + timeline);
  PODSHIM_FORKED_CHECK(!pod["app"].killed && !pod["sc2"].killed, "needless SIGKILL" + timeline);
  // sc1 ignores SIGTERM: SIGKILL comes max(grace left, 2 s) = 2 s after its stop signal.
  const auto kill_delay = *pod["sc1"].killed - *pod["sc1"].signalled;
  PODSHIM_FORKED_CHECK(kill_delay >= 2s && kill_delay < 3500ms, "sc1 kill delay" + timeline);
  return std::string();
}

TEST(TerminationEndToEndTest, RealProcessesStopInOrderAndStubbornSidecarIsKilled) {
  EXPECT_EQ(RunForked(RunPod, std::chrono::seconds(30)), "");
}

TEST(RecordingSignallerTest, RecordsAndFailsOnRequest) {
  RecordingSignaller sig;
  ASSERT_TRUE(sig.Signal(ProcessHandle::ForTest(7), SIGTERM));
  sig.FailNext(Error::Errno(EPERM, "signal pid 8"));
  EXPECT_FALSE(sig.Signal(ProcessHandle::ForTest(8), SIGKILL));
  ASSERT_TRUE(sig.Signal(ProcessHandle::ForTest(9), SIGKILL));
  EXPECT_EQ(sig.sent(), (std::vector<RecordingSignaller::Sent>{{7, SIGTERM}, {9, SIGKILL}}));
}

}  // namespace
}  // namespace podshim::signals
