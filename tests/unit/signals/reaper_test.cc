#include "signals/reaper.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "unit/signals/child_process.h"

namespace podshim::signals {
namespace {

using testing::ChildrenOf;
using testing::RunForked;
using testing::SpawnTestProc;

// Reaps until `count` exits were collected (or 10 s passed).
Result<std::map<pid_t, ExitEvent>> Collect(size_t count) {
  std::map<pid_t, ExitEvent> got;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (got.size() < count && std::chrono::steady_clock::now() < end) {
    for (const ExitEvent& ev : PODSHIM_TRY(ReapAll())) got[ev.pid] = ev;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return got;
}

std::string Show(const ExitEvent& ev) {
  return "pid " + std::to_string(ev.pid) + " status " + std::to_string(ev.status);
}

TEST(ReaperTest, NoChildrenMeansNothingToReap) {
  EXPECT_EQ(RunForked([] {
              auto r = ReapAll();
              PODSHIM_FORKED_CHECK(r, r.error().ToString());
              PODSHIM_FORKED_CHECK(r->empty(), std::to_string(r->size()) + " events");
              auto one = ReapOne();
              PODSHIM_FORKED_CHECK(one && !*one, "ReapOne found something");
              return std::string();
            }),
            "");
}

TEST(ReaperTest, RunningChildrenAreNotReported) {
  EXPECT_EQ(RunForked([] {
              pid_t pid = SpawnTestProc({"pause"});
              PODSHIM_FORKED_CHECK(pid > 0, "spawn");
              auto r = ReapAll();
              PODSHIM_FORKED_CHECK(r && r->empty(), "a running child was reaped");
              ::kill(pid, SIGKILL);
              auto got = Collect(1);
              PODSHIM_FORKED_CHECK(got && got->contains(pid), "killed child not reaped");
              return std::string();
            }),
            "");
}

TEST(ReaperTest, ReturnsExitCodesAnd128PlusSignal) {
  EXPECT_EQ(RunForked([] {
              const pid_t zero = SpawnTestProc({"exit", "0"});
              const pid_t three = SpawnTestProc({"exit", "3"});
              const pid_t max = SpawnTestProc({"exit", "255"});
              const pid_t termed = SpawnTestProc({"pause"});
              const pid_t killed = SpawnTestProc({"ignore-term", "pause"});
              for (pid_t p : {zero, three, max, termed, killed}) {
                PODSHIM_FORKED_CHECK(p > 0, "spawn");
              }
              // Let test_proc install its SIGTERM disposition before signalling it.
              std::this_thread::sleep_for(std::chrono::milliseconds(100));
              ::kill(termed, SIGTERM);
              ::kill(killed, SIGTERM);  // ignored
              std::this_thread::sleep_for(std::chrono::milliseconds(50));
              ::kill(killed, SIGKILL);
              auto got = Collect(5);
              PODSHIM_FORKED_CHECK(got, got.error().ToString());
              PODSHIM_FORKED_CHECK(got->size() == 5, std::to_string(got->size()) + " exits");
              PODSHIM_FORKED_CHECK((*got)[zero] == ExitedWith(zero, 0), Show((*got)[zero]));
              PODSHIM_FORKED_CHECK((*got)[three] == ExitedWith(three, 3), Show((*got)[three]));
              PODSHIM_FORKED_CHECK((*got)[max] == ExitedWith(max, 255), Show((*got)[max]));
              PODSHIM_FORKED_CHECK((*got)[termed].status == 143, Show((*got)[termed]));
              PODSHIM_FORKED_CHECK((*got)[termed].signal == SIGTERM, Show((*got)[termed]));
              PODSHIM_FORKED_CHECK((*got)[killed] == KilledBy(killed, SIGKILL),
                                   Show((*got)[killed]));
              return std::string();
            }),
            "");
}

TEST(ReaperTest, ReapsGrandchildrenAdoptedAsSubreaper) {
  EXPECT_EQ(RunForked([] {
              auto before = IsSubreaper();
              PODSHIM_FORKED_CHECK(before && !*before, "already a subreaper");
              auto s = BecomeSubreaper();
              PODSHIM_FORKED_CHECK(s, s.error().ToString());
              auto after = IsSubreaper();
              PODSHIM_FORKED_CHECK(after && *after, "not a subreaper after BecomeSubreaper");

              // The child forks a grandchild (which ignores SIGTERM and pauses) and exits 0;
              // the grandchild is re-parented to us.
              const pid_t child = SpawnTestProc({"spawn-grandchild", "exit", "0"});
              PODSHIM_FORKED_CHECK(child > 0, "spawn");
              auto first = Collect(1);
              PODSHIM_FORKED_CHECK(first && first->contains(child), "child not reaped");
              PODSHIM_FORKED_CHECK((*first)[child].status == 0, Show((*first)[child]));

              std::vector<pid_t> adopted;
              const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
              while (adopted.empty() && std::chrono::steady_clock::now() < end) {
                adopted = ChildrenOf(::getpid());
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
              }
              PODSHIM_FORKED_CHECK(adopted.size() == 1,
                                   std::to_string(adopted.size()) + " adopted children");
              const pid_t grandchild = adopted[0];
              PODSHIM_FORKED_CHECK(grandchild != child, "the child itself is still there");
              ::kill(grandchild, SIGKILL);  // our own descendant
              auto second = Collect(1);
              PODSHIM_FORKED_CHECK(second && second->contains(grandchild), "grandchild not reaped");
              PODSHIM_FORKED_CHECK((*second)[grandchild].status == 137,
                                   Show((*second)[grandchild]));
              return std::string();
            }),
            "");
}

}  // namespace
}  // namespace podshim::signals
