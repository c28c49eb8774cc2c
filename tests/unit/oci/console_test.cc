// console.h: the child's terminal step in a forked process (on the host's devpts: no mounts
// needed), the master received over a socketpair, and runc's --console-socket rules.
#include "oci/console.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

namespace podshim::oci {
namespace {

// Reads from `fd` until `want` appears or EOF/EIO (at most 5 s of silence).
std::string ReadUntil(int fd, const std::string& want) {
  std::string out;
  while (out.find(want) == std::string::npos) {
    struct pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(ConsoleTest, TheChildSendsTheMasterAndTheSlaveBecomesItsControllingTerminal) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(sv[0]);
    TerminalPlan plan{sv[1], ConsoleSize{30, 90}};
    int32_t step = -1;
    if (SetUpConsoleInChild(plan, sv[1], ::getuid(), &step) != 0) ::_exit(100 + step);
    // fds 0-2 are the slave and it is our controlling terminal: /dev/tty opens, sizes match.
    struct winsize ws {};
    int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY);
    if (tty < 0 || ::ioctl(tty, TIOCGWINSZ, &ws) < 0) ::_exit(2);
    if (::getsid(0) != ::getpid() || ::tcgetpgrp(STDIN_FILENO) != ::getpgrp()) ::_exit(3);
    char line[64];
    ssize_t n = ::read(STDIN_FILENO, line, sizeof line);  // cooked mode: one line
    std::string reply = "size " + std::to_string(ws.ws_row) + "x" + std::to_string(ws.ws_col) +
                        " read " + std::to_string(n) + "\n";
    (void)!::write(STDOUT_FILENO, reply.data(), reply.size());
    ::_exit(0);
  }
  ::close(sv[1]);
  auto master = ReceiveConsoleMaster(sv[0]);
  ASSERT_TRUE(master) << master.error().ToString();
  char eof;
  EXPECT_EQ(::read(sv[0], &eof, 1), 0) << "the child closes the socket after sending";
  ::close(sv[0]);
  EXPECT_EQ(::fcntl(master->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  ASSERT_EQ(::write(master->get(), "hey\n", 4), 4);
  std::string out = ReadUntil(master->get(), "read 4\r\n");
  EXPECT_NE(out.find("hey\r\n"), std::string::npos) << "echoed: " << out;
  EXPECT_NE(out.find("size 30x90 read 4\r\n"), std::string::npos) << out;
  int w = 0;
  ASSERT_EQ(::waitpid(pid, &w, 0), pid);
  EXPECT_TRUE(WIFEXITED(w) && WEXITSTATUS(w) == 0) << "status " << w;
}

TEST(ConsoleTest, ASendFailureNamesTheStep) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ::close(sv[0]);  // nobody to receive: EPIPE
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int32_t step = -1;
    int err = SetUpConsoleInChild(TerminalPlan{sv[1], {}}, sv[1], ::getuid(), &step);
    ::_exit(err == EPIPE && step == static_cast<int32_t>(ConsoleStep::kSend) ? 0 : 1);
  }
  ::close(sv[1]);
  int w = 0;
  ASSERT_EQ(::waitpid(pid, &w, 0), pid);
  EXPECT_TRUE(WIFEXITED(w) && WEXITSTATUS(w) == 0);
  EXPECT_EQ(ConsoleStepName(static_cast<int32_t>(ConsoleStep::kSend)),
            "send the pty master over the console socket");
}

TEST(ConsoleTest, AMessageWithoutAnFdIsAProtocolError) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ASSERT_EQ(::write(sv[1], "/dev/ptmx", 9), 9);
  auto r = ReceiveConsoleMaster(sv[0]);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code().value(), EPROTO);
  ::close(sv[1]);
  auto eof = ReceiveConsoleMaster(sv[0]);
  ASSERT_FALSE(eof);
  EXPECT_EQ(eof.error().code().value(), EPIPE);
  ::close(sv[0]);
}

TEST(ConsoleTest, RuncRulesForTheConsoleSocket) {
  EXPECT_TRUE(CheckConsoleOptions(false, true, false));
  EXPECT_TRUE(CheckConsoleOptions(false, false, false));
  EXPECT_TRUE(CheckConsoleOptions(true, true, true));
  EXPECT_TRUE(CheckConsoleOptions(true, false, false));  // foreground: podshim relays
  auto no_socket = CheckConsoleOptions(true, true, false);
  ASSERT_FALSE(no_socket);
  EXPECT_NE(no_socket.error().ToString().find("cannot allocate a tty if podshim will detach "
                                              "without setting a console socket"),
            std::string::npos);
  for (bool terminal : {false, true}) {
    auto stray = CheckConsoleOptions(terminal, !terminal, true);
    ASSERT_FALSE(stray);
    EXPECT_NE(stray.error().ToString().find("--console-socket: cannot use a console socket if "
                                            "podshim will not detach or allocate a tty"),
              std::string::npos);
  }
}

TEST(ConsoleTest, ConnectNamesThePath) {
  auto missing = ConnectConsoleSocket("/nonexistent/podshim-console.sock");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().ToString(),
            "--console-socket \"/nonexistent/podshim-console.sock\": connect: No such file or "
            "directory");
  auto too_long = ConnectConsoleSocket("/" + std::string(200, 'x'));
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().ToString().find("must have 1 to 107 bytes"), std::string::npos);
}

}  // namespace
}  // namespace podshim::oci
