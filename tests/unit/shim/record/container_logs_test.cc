#include "shim/record/container_logs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

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

// What the kubelet keeps: the current instance's log and the previous one's. Files that are not
// `<n>.log` are not ours and stay.
TEST(PruneContainerLogs, KeepsTheCurrentAndThePreviousInstance) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const auto c = dir.path() / "app";
  ASSERT_TRUE(sys::MakeDirs(c));
  for (const char* name :
       {"0.log", "1.log", "2.log", "3.log", "10.log", "x.log", "notes", ".log"}) {
    ASSERT_TRUE(sys::WriteFile(c / name, "x\n"));
  }
  ASSERT_TRUE(PruneContainerLogs(dir.path(), "app", 11));
  std::set<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(c)) {
    left.insert(e.path().filename().string());
  }
  EXPECT_EQ(left, (std::set<std::string>{"10.log", "x.log", "notes", ".log"}));
  // The first two instances: nothing to remove; a container never started: no directory.
  ASSERT_TRUE(PruneContainerLogs(dir.path(), "app", 1));
  ASSERT_TRUE(PruneContainerLogs(dir.path(), "app", 0));
  EXPECT_TRUE(PruneContainerLogs(dir.path(), "never", 5));
}

// A full disk (the file is /dev/full): the append fails, its bytes count as dropped, and the
// file keeps whole lines only.
TEST(CriLogFile, FailedAppendIsDroppedAndCounted) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(sys::MakeDirs(dir.path() / "c"));
  std::filesystem::create_symlink("/dev/full", dir.path() / "c" / "0.log");
  auto f = CriLogFile::Open(dir.path() / "c" / "0.log");
  ASSERT_TRUE(f) << f.error().ToString();
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1));
  Status st = f->Append(t, LogStream::kStdout, {{"hello", false}});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), std::errc::no_space_on_device);
  EXPECT_EQ(f->dropped_bytes(), FormatCriLine(t, LogStream::kStdout, {"hello", false}).size());
}

// A log file that could not be opened when the instance started is opened by the first append
// that can: the container's output is not lost for the rest of its life.
TEST(CriLogFile, UnopenedFileIsOpenedByALaterAppend) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(sys::WriteFile(dir.path() / "c", "a file where the directory should be"));
  const auto path = dir.path() / "c" / "0.log";
  ASSERT_FALSE(CriLogFile::Open(path));
  CriLogFile f = CriLogFile::Unopened(path);
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1));
  EXPECT_FALSE(f.Append(t, LogStream::kStdout, {{"lost", false}}));
  EXPECT_FALSE(f.is_open());
  ASSERT_TRUE(sys::RemoveTree(dir.path() / "c"));
  ASSERT_TRUE(f.Append(t, LogStream::kStdout, {{"kept", false}}));
  EXPECT_TRUE(f.is_open());
  EXPECT_EQ(sys::ReadFile(path).value_or(""),
            FormatCriLine(t, LogStream::kStdout, {"kept", false}));
}

}  // namespace
}  // namespace podshim::shim
