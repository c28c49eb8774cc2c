#include "signals/exit_event.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

namespace podshim::signals {
namespace {

siginfo_t Info(int code, pid_t pid, int status) {
  siginfo_t info{};
  info.si_signo = SIGCHLD;
  info.si_code = code;
  info.si_pid = pid;
  info.si_status = status;
  return info;
}

TEST(ExitEventTest, DecodesWaitidSiginfo) {
  EXPECT_EQ(DecodeSiginfo(Info(CLD_EXITED, 10, 0)),
            (ExitEvent{.pid = 10, .exit_code = 0, .signal = 0, .status = 0}));
  EXPECT_EQ(DecodeSiginfo(Info(CLD_EXITED, 11, 255)),
            (ExitEvent{.pid = 11, .exit_code = 255, .signal = 0, .status = 255}));
  EXPECT_EQ(DecodeSiginfo(Info(CLD_KILLED, 12, SIGKILL)),
            (ExitEvent{.pid = 12, .exit_code = 0, .signal = SIGKILL, .status = 137}));
  EXPECT_EQ(DecodeSiginfo(Info(CLD_KILLED, 13, SIGTERM)).status, 143);
  const ExitEvent dumped = DecodeSiginfo(Info(CLD_DUMPED, 14, SIGSEGV));
  EXPECT_EQ(dumped.status, 128 + SIGSEGV);
  EXPECT_TRUE(dumped.core_dumped);
  EXPECT_TRUE(dumped.killed());
  EXPECT_FALSE(DecodeSiginfo(Info(CLD_EXITED, 15, 3)).killed());
}

TEST(ExitEventTest, DecodesWaitpidStatus) {
  // wstatus layout: exit code in bits 8-15; terminating signal in bits 0-6; core flag 0x80.
  EXPECT_EQ(DecodeWaitStatus(20, 3 << 8), ExitedWith(20, 3));
  EXPECT_EQ(DecodeWaitStatus(21, SIGKILL), KilledBy(21, SIGKILL));
  EXPECT_EQ(DecodeWaitStatus(22, SIGABRT | 0x80), KilledBy(22, SIGABRT, true));
}

TEST(ExitEventTest, ExitCodeIsKeptToEightBits) {
  EXPECT_EQ(ExitedWith(1, 256 + 7).exit_code, 7);
  EXPECT_EQ(ExitedWith(1, 256 + 7).status, 7);
}

}  // namespace
}  // namespace podshim::signals
