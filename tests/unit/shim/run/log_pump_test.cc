#include "shim/run/log_pump.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <string>

#include "common/sys.h"
#include "common/time_format.h"
#include "fixtures/fakes/fake_clock.h"
#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim {
namespace {

class LogPumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    auto file = CriLogFile::Open(dir_.path() / "c" / "0.log");
    ASSERT_TRUE(file) << file.error().ToString();
    file_ = std::make_shared<CriLogFile>(std::move(*file));
    auto pipe = sys::Pipe();
    ASSERT_TRUE(pipe);
    pipe_ = std::move(*pipe);
  }

  std::string Log() { return sys::ReadFile(dir_.path() / "c" / "0.log").value_or("<unreadable>"); }

  testing::TempDir dir_;
  FakeClock clock_;
  boost::asio::io_context io_;
  std::shared_ptr<CriLogFile> file_;
  sys::PipePair pipe_;
};

TEST_F(LogPumpTest, CopiesLinesAsTheyArriveAndFlushesTheRestAtEof) {
  LogPump pump(io_, std::move(pipe_.read), LogStream::kStderr, file_, clock_);
  pump.Start();
  ASSERT_TRUE(sys::WriteAll(pipe_.write.get(), "one\ntw"));
  io_.run_one();  // one readable event
  EXPECT_FALSE(pump.done());
  std::string prefix = FormatRfc3339Nano(clock_.WallNow());
  EXPECT_EQ(Log(), prefix + " stderr F one\n");
  ASSERT_TRUE(sys::WriteAll(pipe_.write.get(), "o\nend"));
  pipe_.write.Reset();
  io_.run();  // until EOF: nothing else keeps the context busy
  EXPECT_TRUE(pump.done());
  EXPECT_EQ(Log(),
            prefix + " stderr F one\n" + prefix + " stderr F two\n" + prefix + " stderr P end\n");
}

TEST_F(LogPumpTest, DrainReadsWhatIsBufferedWithoutWaitingForEof) {
  LogPump pump(io_, std::move(pipe_.read), LogStream::kStdout, file_, clock_);
  ASSERT_TRUE(sys::WriteAll(pipe_.write.get(), "last words\npartial"));
  // The writer is still open: a blocking read would hang here.
  pump.Drain();
  EXPECT_TRUE(pump.done());
  std::string prefix = FormatRfc3339Nano(clock_.WallNow());
  EXPECT_EQ(Log(), prefix + " stdout F last words\n" + prefix + " stdout P partial\n");
}

// At EOF the pump lets go of the instance's log file: the last pump of an ended instance closes
// it (a finished container kept one fd open before).
TEST_F(LogPumpTest, ReleasesTheLogFileAtEof) {
  LogPump pump(io_, std::move(pipe_.read), LogStream::kStdout, file_, clock_);
  pump.Start();
  EXPECT_EQ(file_.use_count(), 2);
  pipe_.write.Reset();
  io_.run();
  EXPECT_TRUE(pump.done());
  EXPECT_EQ(file_.use_count(), 1);
}

}  // namespace
}  // namespace podshim::shim
