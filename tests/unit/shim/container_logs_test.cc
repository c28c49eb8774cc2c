#include "shim/container_logs.h"

#include <gtest/gtest.h>

#include "common/sys.h"
#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim {
namespace {

using Records = std::vector<LogRecord>;

TEST(CriLineSplitter, CompleteLinesAreFullRecords) {
  CriLineSplitter s;
  EXPECT_EQ(s.Feed("a\nbc\n\n"), (Records{{"a", false}, {"bc", false}, {"", false}}));
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_TRUE(s.Finish().empty());
}

TEST(CriLineSplitter, LineSplitAcrossReadsIsJoined) {
  CriLineSplitter s;
  EXPECT_TRUE(s.Feed("hel").empty());
  EXPECT_EQ(s.Feed("lo\r\nwor"), (Records{{"hello", false}}));
  EXPECT_EQ(s.pending(), 3u);
  // containerd writes an unterminated remainder at EOF as a partial record.
  EXPECT_EQ(s.Finish(), (Records{{"wor", true}}));
}

TEST(CriLineSplitter, LongLineIsCutIntoPartialRecordsAtTheCap) {
  CriLineSplitter s(4);
  EXPECT_EQ(s.Feed("abcdefghij\n"), (Records{{"abcd", true}, {"efgh", true}, {"ij", false}}));
  // Exactly the cap with its newline is one full record.
  EXPECT_EQ(s.Feed("wxyz\n"), (Records{{"wxyz", false}}));
  // The cap counts bytes buffered across reads.
  EXPECT_TRUE(s.Feed("ab").empty());
  EXPECT_EQ(s.Feed("cde"), (Records{{"abcd", true}}));
  EXPECT_EQ(s.Feed("\n"), (Records{{"e", false}}));
}

TEST(CriLineSplitter, DefaultCapIs16KiB) {
  CriLineSplitter s;
  std::string big(kMaxLogLineBytes + 10, 'x');
  auto out = s.Feed(big + "\n");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].text.size(), kMaxLogLineBytes);
  EXPECT_TRUE(out[0].partial);
  EXPECT_EQ(out[1], (LogRecord{std::string(10, 'x'), false}));
}

TEST(FormatCriLine, MatchesTheKubeletFormat) {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1475752629)) +
           std::chrono::nanoseconds(669794202);
  EXPECT_EQ(FormatCriLine(t, LogStream::kStdout, {"hello", false}),
            "2016-10-06T11:17:09.669794202Z stdout F hello\n");
  EXPECT_EQ(FormatCriLine(t, LogStream::kStderr, {"par tial", true}),
            "2016-10-06T11:17:09.669794202Z stderr P par tial\n");
}

TEST(CriLogFile, AppendsToLogDirContainerRestartCountLog) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto path = ContainerLogPath(dir.path(), "web", 2);
  EXPECT_EQ(path, dir.path() / "web" / "2.log");
  auto file = CriLogFile::Open(path);
  ASSERT_TRUE(file) << file.error().ToString();
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(0));
  ASSERT_TRUE(file->Append(t, LogStream::kStdout, {{"one", false}, {"two", true}}));
  ASSERT_TRUE(file->Append(t, LogStream::kStderr, {}));
  auto text = sys::ReadFile(path);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text,
            "1970-01-01T00:00:00.000000000Z stdout F one\n"
            "1970-01-01T00:00:00.000000000Z stdout P two\n");
}

}  // namespace
}  // namespace podshim::shim
