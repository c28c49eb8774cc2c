// The shim's terminal relay on a real pty: stdin -> master -> slave, slave -> master -> stdout,
// stdin's EOF keeps the relay going, the slave's close ends it with EOF on stdout, Stop closes
// everything, and a stdout reader that never comes is given EOF after the exit's grace.
#include "shim/shimv2/terminal_relay.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <string>

#include "gtest/gtest.h"

namespace podshim::shim::shimv2 {
namespace {

using namespace std::chrono_literals;

struct Pipe {
  UniqueFd read, write;
  Pipe() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    read = UniqueFd(p[0]);
    write = UniqueFd(p[1]);
  }
};

class TerminalRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = UniqueFd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    ASSERT_TRUE(master_);
    ASSERT_EQ(::grantpt(master_.get()), 0);
    ASSERT_EQ(::unlockpt(master_.get()), 0);
    slave_ = UniqueFd(::open(::ptsname(master_.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
    ASSERT_TRUE(slave_);
    struct termios raw {};
    ASSERT_EQ(::tcgetattr(slave_.get(), &raw), 0);
    ::cfmakeraw(&raw);  // bytes pass unchanged (no echo, no CR/LF mapping)
    ASSERT_EQ(::tcsetattr(slave_.get(), TCSANOW, &raw), 0);
  }

  // Runs the loop until `done` or `limit`.
  void RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 2s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
      loop_.run_for(10ms);
      loop_.restart();
    }
  }
  // Everything readable on `fd` now (non-blocking), "<EOF>" appended at its end.
  static std::string Drain(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (n < 0 && errno == EIO)) out += "<EOF>";
      return out;
    }
  }
  Status StartRelay(Pipe& in, Pipe& out) {
    return relays_.Start("t1", std::move(master_), std::move(in.read), std::move(out.write));
  }

  boost::asio::io_context loop_;
  AsioTerminalRelays relays_{loop_, 300ms};
  UniqueFd master_, slave_;
};

TEST_F(TerminalRelayTest, RelaysBothWaysAndEndsWithEofWhenTheSlaveCloses) {
  Pipe in, out;
  ASSERT_TRUE(StartRelay(in, out));
  ASSERT_EQ(::write(in.write.get(), "hello\n", 6), 6);
  in.write.Reset();  // ctr went away: the relay goes on
  std::string typed;
  RunUntil([&] { return (typed += Drain(slave_.get())).size() >= 6; });
  EXPECT_EQ(typed, "hello\n");
  ASSERT_EQ(::write(slave_.get(), "output\n", 7), 7);
  std::string shown;
  RunUntil([&] { return (shown += Drain(out.read.get())).size() >= 7; });
  EXPECT_EQ(shown, "output\n");
  // The container's side closes after more output: all of it comes, then EOF.
  std::string big(100'000, 'x');
  ASSERT_EQ(::fcntl(slave_.get(), F_SETFL, ::fcntl(slave_.get(), F_GETFL) | O_NONBLOCK), 0);
  size_t written = 0;
  std::string got;
  RunUntil([&] {
    ssize_t n = ::write(slave_.get(), big.data() + written, big.size() - written);
    if (n > 0) written += static_cast<size_t>(n);
    got += Drain(out.read.get());
    return written == big.size();
  });
  slave_.Reset();
  RunUntil([&] { return (got += Drain(out.read.get())).ends_with("<EOF>"); });
  EXPECT_EQ(got, big + "<EOF>");
  EXPECT_EQ(relays_.size(), 1u);
  relays_.Stop("t1");
  EXPECT_EQ(relays_.size(), 0u);
}

// ctr opens its end of the stdin FIFO only after the shim has opened its own: until then a
// read sees EOF, which must not end the input.
TEST_F(TerminalRelayTest, AStdinFifoWhoseWriterComesLaterIsRelayed) {
  char dir[] = "/tmp/podshim-relay-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string fifo = std::string(dir) + "/stdin";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  UniqueFd in(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(in);
  ASSERT_TRUE(relays_.Start("t1", std::move(master_), std::move(in), UniqueFd()));
  RunUntil([] { return false; }, 200ms);  // a while with no writer
  // Non-blocking: ENXIO (a failure, not a hang) if the relay had given its end up.
  UniqueFd writer(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(writer);
  ASSERT_EQ(::write(writer.get(), "late\n", 5), 5);
  writer.Reset();
  std::string typed;
  RunUntil([&] { return (typed += Drain(slave_.get())).size() >= 5; });
  EXPECT_EQ(typed, "late\n");
  ::unlink(fifo.c_str());
  ::rmdir(dir);
}

TEST_F(TerminalRelayTest, AnExitGivesTheStdoutReaderEofAfterTheGraceEvenWithTheSlaveOpen) {
  Pipe in, out;
  ASSERT_TRUE(StartRelay(in, out));
  ASSERT_EQ(::write(slave_.get(), "last words", 10), 10);
  relays_.TaskExited("t1");
  std::string got;
  auto start = std::chrono::steady_clock::now();
  RunUntil([&] { return (got += Drain(out.read.get())).ends_with("<EOF>"); });
  EXPECT_EQ(got, "last words<EOF>");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
}

TEST_F(TerminalRelayTest, StopClosesEverythingAtOnce) {
  Pipe in, out;
  ASSERT_TRUE(StartRelay(in, out));
  loop_.poll();
  relays_.Stop("t1");
  relays_.Stop("t1");  // unknown now: ignored
  loop_.poll();
  EXPECT_EQ(Drain(out.read.get()), "<EOF>");
  auto old = ::signal(SIGPIPE, SIG_IGN);           // as the shim, which blocks it
  EXPECT_EQ(::write(in.write.get(), "x", 1), -1);  // the stdin FIFO's reader is gone: EPIPE
  EXPECT_EQ(errno, EPIPE);
  ::signal(SIGPIPE, old);
}

TEST_F(TerminalRelayTest, WithoutStdinOrStdoutTheOutputIsDrainedAndDropped) {
  ASSERT_TRUE(relays_.Start("t1", std::move(master_), UniqueFd(), UniqueFd()));
  std::string big(200'000, 'y');
  ASSERT_EQ(::fcntl(slave_.get(), F_SETFL, ::fcntl(slave_.get(), F_GETFL) | O_NONBLOCK), 0);
  size_t written = 0;
  RunUntil([&] {
    ssize_t n = ::write(slave_.get(), big.data() + written, big.size() - written);
    if (n > 0) written += static_cast<size_t>(n);
    return written == big.size();
  });
  EXPECT_EQ(written, big.size());  // the slave never blocked: nobody reads, yet it drains
}

TEST_F(TerminalRelayTest, ASecondRelayForTheSameTaskIsRefused) {
  Pipe in, out;
  ASSERT_TRUE(StartRelay(in, out));
  auto again = relays_.Start("t1", UniqueFd(::open("/dev/null", O_RDWR)), UniqueFd(), UniqueFd());
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().ToString().find("has one already"), std::string::npos);
}

}  // namespace
}  // namespace podshim::shim::shimv2
