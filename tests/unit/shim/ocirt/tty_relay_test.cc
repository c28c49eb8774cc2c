// tty_relay.h on a real pty pair: a forked child plays the container on the slave, pipes play
// the caller's stdin and stdout (no terminal: no raw mode, no resize), and the relay must carry
// input, echo and output (also what is still in the pty after the exit) and pass signals on.
#include "shim/ocirt/tty_relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/sys.h"
#include "common/unique_fd.h"

namespace podshim::shim {
namespace {

TEST(TtyRelayTest, CarriesInputEchoAndOutputUntilTheExitAndForwardsSignals) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master);
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  const std::string slave_path = ::ptsname(master.get());
  int in[2], out[2], ready[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  UniqueFd in_read(in[0]), in_write(in[1]), out_read(out[0]), out_write(out[1]);
  UniqueFd ready_read(ready[0]), ready_write(ready[1]);

  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGWINCH);
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &set, &old), 0);

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The container: the slave as its terminal; its last words come right before it exits.
    int slave = ::open(slave_path.c_str(), O_RDWR);
    if (slave < 0 || ::setsid() < 0) ::_exit(120);
    for (int fd = 0; fd < 3; ++fd) ::dup2(slave, fd);
    // A master with no slave open reads as hung up: the relay starts once we hold it.
    (void)!::write(ready_write.get(), "r", 1);
    char line[64];
    ssize_t n = ::read(STDIN_FILENO, line, sizeof line);
    std::string reply = "got " + std::string(line, n > 0 ? static_cast<size_t>(n) : 0);
    for (int i = 0; i < 200; ++i) reply += "0123456789";
    reply += "\nbye\n";
    (void)!::write(STDOUT_FILENO, reply.data(), reply.size());
    ::_exit(3);
  }
  ready_write.Reset();
  char byte;
  ASSERT_EQ(::read(ready_read.get(), &byte, 1), 1);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  ASSERT_TRUE(pidfd);
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  ASSERT_TRUE(sfd);
  ASSERT_EQ(::write(in_write.get(), "abc\n", 4), 4);
  in_write.Reset();  // EOF after the line: the relay stops reading, the container goes on
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);   // pending in the signalfd: forwarded
  ASSERT_EQ(::kill(::getpid(), SIGWINCH), 0);  // resizes (a no-op here), never forwarded

  std::vector<int> forwarded;
  RelayFds fds;
  fds.master = master.get();
  fds.pidfd = pidfd.get();
  fds.signal_fd = sfd.get();
  fds.in = in_read.get();
  fds.out = out_write.get();
  auto relayed = RelayTerminal(fds, [&](int sig) { forwarded.push_back(sig); });
  ASSERT_TRUE(relayed) << relayed.error().ToString();
  out_write.Reset();
  auto text = sys::ReadAll(out_read.get());
  ASSERT_TRUE(text);
  int w = 0;
  ASSERT_EQ(::waitpid(pid, &w, 0), pid);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);

  EXPECT_EQ(WEXITSTATUS(w), 3);
  EXPECT_EQ(text->rfind("abc\r\ngot abc\r\n", 0), 0u) << "echo, then the reply: " << *text;
  EXPECT_TRUE(text->ends_with("0123456789\r\nbye\r\n")) << "drained after the exit: " << *text;
  EXPECT_EQ(forwarded, std::vector<int>{SIGUSR1});
}

TEST(TtyRelayTest, RawModeIsRestored) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master);
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  UniqueFd slave(::open(::ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(slave);
  struct termios before {};
  ASSERT_EQ(::tcgetattr(slave.get(), &before), 0);
  {
    auto raw = RawTerminal::Enter(slave.get());
    ASSERT_TRUE(raw) << raw.error().ToString();
    struct termios now {};
    ASSERT_EQ(::tcgetattr(slave.get(), &now), 0);
    EXPECT_EQ(now.c_lflag & (ECHO | ICANON | ISIG), 0u);
  }
  struct termios after {};
  ASSERT_EQ(::tcgetattr(slave.get(), &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  // Not a terminal: nothing to do, nothing to restore.
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), wr(p[1]);
  EXPECT_TRUE(RawTerminal::Enter(r.get()));
}

}  // namespace
}  // namespace podshim::shim
