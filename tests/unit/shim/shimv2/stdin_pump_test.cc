// The shim's stdin pump on real pipes (stand-ins for containerd's FIFO and the process's stdin):
// bytes pass in order, the source's EOF closes the destination once everything is written,
// nothing more than one bounded buffer is held while the process does not read, a process gone
// (EPIPE) ends the pump, and Stop closes both ends.
#include "shim/shimv2/stdin_pump.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>

#include "gtest/gtest.h"

namespace podshim::shim::shimv2 {
namespace {

using namespace std::chrono_literals;

struct Pipe {
  UniqueFd read, write;
  UniqueFd read_copy;  // to look at what is pending (FIONREAD) after `read` is handed over
  Pipe() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    read = UniqueFd(p[0]);
    write = UniqueFd(p[1]);
    read_copy = UniqueFd(::fcntl(p[0], F_DUPFD_CLOEXEC, 3));
  }
};

class StdinPumpTest : public ::testing::Test {
 protected:
  // As in the shim (which blocks it): a reader gone is EPIPE, not death.
  void SetUp() override { ::signal(SIGPIPE, SIG_IGN); }
  void RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 2s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
      loop_.restart();
      loop_.run_for(10ms);
    }
  }
  // What `fd` has now; `eof` set when its writers are all gone.
  static std::string ReadNow(int fd, bool* eof = nullptr) {
    std::string out;
    char buf[16384];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (eof) *eof = n == 0;
      return out;
    }
  }
  static int Pending(int fd) {
    int n = 0;
    EXPECT_EQ(::ioctl(fd, FIONREAD, &n), 0);
    return n;
  }

  boost::asio::io_context loop_;
  AsioStdinPumps pumps_{loop_};
  Pipe fifo_, stdin_;
};

TEST_F(StdinPumpTest, BytesPassAndTheSourcesEofClosesTheProcessStdin) {
  ASSERT_TRUE(pumps_.Start("c1", std::move(fifo_.read), std::move(stdin_.write)));
  ASSERT_EQ(::write(fifo_.write.get(), "hello\n", 6), 6);
  std::string got;
  RunUntil([&] { return (got += ReadNow(stdin_.read.get())) == "hello\n"; });
  EXPECT_EQ(got, "hello\n");
  bool eof = false;
  ReadNow(stdin_.read.get(), &eof);
  EXPECT_FALSE(eof);  // the source is still open
  fifo_.write.Reset();
  RunUntil([&] {
    ReadNow(stdin_.read.get(), &eof);
    return eof;
  });
  EXPECT_TRUE(eof);
  EXPECT_EQ(pumps_.size(), 1u);  // until Stop (the process's Delete)
  pumps_.Stop("c1");
  EXPECT_EQ(pumps_.size(), 0u);
}

TEST_F(StdinPumpTest, HoldsOneBoundedBufferWhileTheProcessDoesNotRead) {
  ASSERT_TRUE(pumps_.Start("c1", std::move(fifo_.read), std::move(stdin_.write)));
  // Written until the source stays full: the process pipe full, the pump's buffer full, then
  // the source pipe full; the pump holds no more than its buffer.
  std::string sent;
  for (int i = 0, stuck = 0; stuck < 3 && i < 1000; ++i) {
    std::string chunk(4096, static_cast<char>('a' + i % 26));
    ssize_t n = ::write(fifo_.write.get(), chunk.data(), chunk.size());
    if (n > 0) {
      sent.append(chunk, 0, static_cast<size_t>(n));
      stuck = 0;
      continue;
    }
    ++stuck;
    RunUntil([] { return false; }, 20ms);
  }
  constexpr size_t kPipe = 64 * 1024, kPumpBuffer = 64 * 1024;
  EXPECT_LE(sent.size(), 2 * kPipe + kPumpBuffer + 4096);
  EXPECT_GT(Pending(fifo_.read_copy.get()), 0) << "the pump drained the source past its buffer";
  fifo_.write.Reset();
  std::string got;
  bool eof = false;
  RunUntil([&] {
    got += ReadNow(stdin_.read.get(), &eof);
    return eof;
  });
  EXPECT_TRUE(eof);
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent) << "bytes lost or out of order";
}

TEST_F(StdinPumpTest, AProcessGoneEndsThePumpAndStopClosesTheSource) {
  ASSERT_TRUE(pumps_.Start("c1", std::move(fifo_.read), std::move(stdin_.write)));
  stdin_.read.Reset();  // the process closed its stdin
  ASSERT_EQ(::write(fifo_.write.get(), "x", 1), 1);
  RunUntil([] { return false; }, 100ms);  // the write fails (EPIPE): the pump ends
  EXPECT_EQ(Pending(fifo_.read_copy.get()), 0);
  fifo_.read_copy.Reset();
  pumps_.Stop("c1");
  // The source's read end is closed: writing to it fails with EPIPE.
  EXPECT_LT(::write(fifo_.write.get(), "y", 1), 0);
  EXPECT_EQ(errno, EPIPE);
}

TEST_F(StdinPumpTest, StartRefusesASecondPumpForTheSameProcessAndMissingFds) {
  ASSERT_TRUE(pumps_.Start("c1", std::move(fifo_.read), std::move(stdin_.write)));
  Pipe other, other_stdin;
  EXPECT_FALSE(pumps_.Start("c1", std::move(other.read), std::move(other_stdin.write)));
  EXPECT_FALSE(pumps_.Start("c2", UniqueFd(), UniqueFd()));
  pumps_.Stop("nope");  // ignored
  EXPECT_EQ(pumps_.size(), 1u);
}

}  // namespace
}  // namespace podshim::shim::shimv2
