#include "shim/record/exit_records.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/sys.h"
#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim {
namespace {

TEST(OomKillGrew, OnlyAnIncreaseOfAKnownCounterCounts) {
  EXPECT_FALSE(OomKillGrew(std::nullopt, std::nullopt));
  EXPECT_FALSE(OomKillGrew(3, std::nullopt));
  EXPECT_FALSE(OomKillGrew(3, 3));
  EXPECT_TRUE(OomKillGrew(3, 4));
  EXPECT_TRUE(OomKillGrew(std::nullopt, 1));  // the cgroup was new: baseline 0
  EXPECT_FALSE(OomKillGrew(std::nullopt, 0));
}

TEST(ExitRecords, WritesDecimalStatusAndReadsItBack) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ExitRecords records(dir.path());
  ASSERT_TRUE(records.Write("web", {143, false}));
  auto text = sys::ReadFile(dir.path() / "containers/web/exit");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "143\n");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "containers/web/oom"));
  auto read = records.Read("web");
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, (ExitRecord{143, false}));
  // No temporary file is left beside it.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(records.Dir("web"))) {
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(ExitRecords, OomMarkerFollowsTheLatestExit) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ExitRecords records(dir.path());
  ASSERT_TRUE(records.Write("app", {137, true}));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "containers/app/oom"));
  EXPECT_EQ(*records.Read("app"), (ExitRecord{137, true}));
  ASSERT_TRUE(records.Write("app", {0, false}));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "containers/app/oom"));
  EXPECT_EQ(*records.Read("app"), (ExitRecord{0, false}));
}

// The containerd shim's records (no fsync) read and replace exactly as the pod shim's do.
TEST(ExitRecords, PageCacheRecordsAreTheSameFiles) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ExitRecords records(dir.path(), sys::Sync::kPageCache);
  ASSERT_TRUE(records.Write("t1", {137, true}));
  EXPECT_EQ(*sys::ReadFile(dir.path() / "containers/t1/exit"), "137\n");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "containers/t1/oom"));
  ASSERT_TRUE(records.Write("t1", {3, false}));
  EXPECT_EQ(*ExitRecords(dir.path()).Read("t1"), (ExitRecord{3, false}));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "containers/t1/oom"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "containers/t1/exit.tmp"));
}

TEST(ExitRecords, MissingRecordIsNulloptAndGarbageIsAnError) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ExitRecords records(dir.path());
  auto none = records.Read("never");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(sys::MakeDirs(records.Dir("bad")));
  ASSERT_TRUE(sys::WriteFile(records.Dir("bad") / "exit", "12x\n"));
  auto bad = records.Read("bad");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().ToString().find("containers/bad/exit"), std::string::npos);
}

// A full disk (the temporary file is /dev/full): the write fails and leaves no temporary file;
// once there is room again the same record is written.
TEST(ExitRecords, GarbageIsEscapedInTheError) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ExitRecords records(dir.path());
  ASSERT_TRUE(sys::MakeDirs(records.Dir("bad")));
  ASSERT_TRUE(sys::WriteFile(records.Dir("bad") / "exit", "1\r2\xff\n"));
  auto bad = records.Read("bad");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().ToString().find("not an exit status: \"1\\r2\\xff\""), std::string::npos)
      << bad.error().ToString();
}

TEST(ExitRecords, FailedWriteLeavesNoTemporaryFile) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ExitRecords records(dir.path());
  ASSERT_TRUE(sys::MakeDirs(records.Dir("app")));
  const auto tmp = records.Dir("app") / "exit.tmp";
  std::filesystem::create_symlink("/dev/full", tmp);
  Status st = records.Write("app", {137, false});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), std::errc::no_space_on_device) << st.error().ToString();
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(tmp)));
  EXPECT_FALSE(records.Read("app")->has_value());
  ASSERT_TRUE(records.Write("app", {137, false}));
  EXPECT_EQ(*records.Read("app"), (ExitRecord{137, false}));
}

// A record that cannot be written leaves the previous one as it was, its OOM marker included.
TEST(ExitRecords, FailedWriteKeepsThePreviousRecordsMarker) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ExitRecords records(dir.path());
  ASSERT_TRUE(records.Write("app", {137, true}));
  const auto tmp = records.Dir("app") / "exit.tmp";
  std::filesystem::create_directory(tmp);  // every write of `exit` fails while it is there
  EXPECT_FALSE(records.Write("app", {1, false}));
  EXPECT_EQ(*records.Read("app"), (ExitRecord{137, true}));
  std::filesystem::remove(tmp);
  ASSERT_TRUE(records.Write("app", {2, false}));
  EXPECT_EQ(*records.Read("app"), (ExitRecord{2, false}));
  std::filesystem::create_directory(tmp);
  EXPECT_FALSE(records.Write("app", {137, true}));
  EXPECT_EQ(*records.Read("app"), (ExitRecord{2, false}));
}

}  // namespace
}  // namespace podshim::shim
