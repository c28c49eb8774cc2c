#include "signals/pidfd.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "common/sys.h"
#include "unit/signals/child_process.h"

namespace podshim::signals {
namespace {

using testing::SpawnTestProc;

// A test_proc child held by pid + pidfd; SIGKILLed and reaped by ChildGuard if a test fails.
ChildGuard Start(const std::vector<std::string>& args) {
  const pid_t pid = SpawnTestProc(args);
  EXPECT_GT(pid, 0);
  auto fd = sys::PidfdOpen(pid);
  EXPECT_TRUE(fd) << fd.error().ToString();
  // Let test_proc run its setup commands (e.g. ignore-term) before it is signalled.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return ChildGuard(ProcessHandle(pid, std::move(*fd)));
}

TEST(PidfdTest, SignalsAndWaitsThroughThePidfd) {
  ChildGuard child = Start({"pause"});
  auto running = TryWaitPidfd(child.handle());
  ASSERT_TRUE(running) << running.error().ToString();
  EXPECT_FALSE(*running);

  PidfdSignaller signaller;
  ASSERT_TRUE(signaller.Signal(child.handle(), SIGTERM));
  auto ev = WaitPidfd(child.handle());
  ASSERT_TRUE(ev) << ev.error().ToString();
  EXPECT_EQ(*ev, KilledBy(child.handle().pid(), SIGTERM));
  EXPECT_EQ(ev->status, 143);
}

TEST(PidfdTest, IgnoredTermNeedsKill) {
  ChildGuard child = Start({"ignore-term", "pause"});
  PidfdSignaller signaller;
  ASSERT_TRUE(signaller.Signal(child.handle(), SIGTERM));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto still = TryWaitPidfd(child.handle());
  ASSERT_TRUE(still);
  EXPECT_FALSE(*still) << "a process ignoring SIGTERM exited";
  ASSERT_TRUE(signaller.Signal(child.handle(), SIGKILL));
  auto ev = WaitPidfd(child.handle());
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->status, 137);
}

TEST(PidfdTest, ExitCodeThroughTryWait) {
  ChildGuard child = Start({"exit", "42"});
  std::optional<ExitEvent> ev;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!ev && std::chrono::steady_clock::now() < end) {
    auto r = TryWaitPidfd(child.handle());
    ASSERT_TRUE(r) << r.error().ToString();
    ev = *r;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(ev);
  EXPECT_EQ(*ev, ExitedWith(child.handle().pid(), 42));
}

TEST(PidfdTest, SignallingAProcessThatIsGoneIsOk) {
  ChildGuard child = Start({"exit", "0"});
  ASSERT_TRUE(WaitPidfd(child.handle()));  // reaped: the pid may be reused, the pidfd is safe
  PidfdSignaller signaller;
  auto s = signaller.Signal(child.handle(), SIGTERM);
  EXPECT_TRUE(s) << s.error().ToString();
  auto again = TryWaitPidfd(child.handle());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), std::errc::no_child_process);
}

TEST(PidfdTest, HandleWithoutPidfdIsRefused) {
  PidfdSignaller signaller;
  auto s = signaller.Signal(ProcessHandle::ForTest(12345), SIGTERM);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), std::errc::bad_file_descriptor);
  EXPECT_NE(s.error().ToString().find("12345"), std::string::npos) << s.error().ToString();
  auto w = TryWaitPidfd(ProcessHandle::ForTest(12345));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), std::errc::bad_file_descriptor);
}

}  // namespace
}  // namespace podshim::signals
