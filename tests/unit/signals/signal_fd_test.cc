#include "signals/signal_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "signals/reaper.h"
#include "unit/signals/child_process.h"

namespace podshim::signals {
namespace {

using testing::ProcessState;
using testing::RunForked;
using testing::SpawnTestProc;

bool Blocked(int sig) {
  sigset_t now;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return ::sigismember(&now, sig) == 1;
}

bool Readable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST(SignalFdTest, BlocksTheSetAndRestoresTheOldMask) {
  EXPECT_EQ(RunForked([] {
              PODSHIM_FORKED_CHECK(!Blocked(SIGUSR1), "SIGUSR1 blocked before");
              auto sfd = SignalFd::Open({SIGUSR1, SIGCHLD});
              PODSHIM_FORKED_CHECK(sfd, sfd.error().ToString());
              PODSHIM_FORKED_CHECK(Blocked(SIGUSR1) && Blocked(SIGCHLD), "not blocked");
              PODSHIM_FORKED_CHECK(::sigismember(&sfd->old_mask(), SIGUSR1) == 0, "old mask");
              const int fd_flags = ::fcntl(sfd->fd(), F_GETFD);
              const int fl_flags = ::fcntl(sfd->fd(), F_GETFL);
              PODSHIM_FORKED_CHECK(fd_flags & FD_CLOEXEC, "signalfd without CLOEXEC");
              PODSHIM_FORKED_CHECK(fl_flags & O_NONBLOCK, "signalfd without NONBLOCK");
              auto restored = sfd->RestoreMask();
              PODSHIM_FORKED_CHECK(restored, restored.error().ToString());
              PODSHIM_FORKED_CHECK(!Blocked(SIGUSR1) && !Blocked(SIGCHLD), "still blocked");
              return std::string();
            }),
            "");
}

TEST(SignalFdTest, ReportsSignalAndSenderAndIsEmptyWhenNothingIsPending) {
  EXPECT_EQ(RunForked([] {
              auto sfd = SignalFd::Open({SIGUSR1, SIGUSR2});
              PODSHIM_FORKED_CHECK(sfd, sfd.error().ToString());
              auto empty = sfd->ReadBatch();
              PODSHIM_FORKED_CHECK(empty && empty->empty(), "something pending at start");
              ::kill(::getpid(), SIGUSR1);
              ::kill(::getpid(), SIGUSR2);
              auto batch = sfd->ReadBatch();
              PODSHIM_FORKED_CHECK(batch, batch.error().ToString());
              PODSHIM_FORKED_CHECK(batch->size() == 2, std::to_string(batch->size()) + " read");
              const SignalInfo& first = (*batch)[0];
              PODSHIM_FORKED_CHECK(first.signo == SIGUSR1, std::to_string(first.signo));
              PODSHIM_FORKED_CHECK(first.code == SI_USER, std::to_string(first.code));
              PODSHIM_FORKED_CHECK(first.pid == ::getpid(), std::to_string(first.pid));
              PODSHIM_FORKED_CHECK(first.uid == ::getuid(), std::to_string(first.uid));
              PODSHIM_FORKED_CHECK((*batch)[1].signo == SIGUSR2, "second signal");
              auto again = sfd->ReadBatch();
              PODSHIM_FORKED_CHECK(again && again->empty(), "signals read twice");
              return std::string();
            }),
            "");
}

TEST(SignalFdTest, CoalescedSigchldStandsForEveryExit) {
  EXPECT_EQ(RunForked([] {
              auto sfd = SignalFd::Open({SIGCHLD});
              PODSHIM_FORKED_CHECK(sfd, sfd.error().ToString());
              std::vector<pid_t> pids;
              for (int code = 1; code <= 5; ++code) {
                pids.push_back(SpawnTestProc({"exit", std::to_string(code)}));
                PODSHIM_FORKED_CHECK(pids.back() > 0, "spawn");
              }
              // Wait until every child is a zombie: all five SIGCHLDs have been generated.
              const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
              for (pid_t p : pids) {
                while (ProcessState(p) != 'Z' && std::chrono::steady_clock::now() < end) {
                  std::this_thread::sleep_for(std::chrono::milliseconds(2));
                }
                PODSHIM_FORKED_CHECK(ProcessState(p) == 'Z', "child did not exit");
              }
              PODSHIM_FORKED_CHECK(Readable(sfd->fd(), 1000), "signalfd not readable");
              auto batch = sfd->ReadBatch();
              PODSHIM_FORKED_CHECK(batch, batch.error().ToString());
              // A standard signal is queued once while pending: five exits, one SIGCHLD.
              PODSHIM_FORKED_CHECK(batch->size() == 1,
                                   std::to_string(batch->size()) + " SIGCHLD records");
              PODSHIM_FORKED_CHECK((*batch)[0].signo == SIGCHLD, "not SIGCHLD");
              auto exits = ReapAll();
              PODSHIM_FORKED_CHECK(exits, exits.error().ToString());
              PODSHIM_FORKED_CHECK(exits->size() == 5, std::to_string(exits->size()) + " exits");
              int sum = 0;
              for (const ExitEvent& ev : *exits) sum += ev.status;
              PODSHIM_FORKED_CHECK(sum == 1 + 2 + 3 + 4 + 5, "exit codes " + std::to_string(sum));
              return std::string();
            }),
            "");
}

TEST(SignalFdTest, RejectsInvalidSignalNumber) {
  EXPECT_EQ(RunForked([] {
              auto sfd = SignalFd::Open({SIGUSR1, 1000});
              PODSHIM_FORKED_CHECK(!sfd, "accepted signal 1000");
              PODSHIM_FORKED_CHECK(sfd.error().code() == std::errc::invalid_argument,
                                   sfd.error().ToString());
              PODSHIM_FORKED_CHECK(!Blocked(SIGUSR1), "mask changed on failure");
              return std::string();
            }),
            "");
}

}  // namespace
}  // namespace podshim::signals
