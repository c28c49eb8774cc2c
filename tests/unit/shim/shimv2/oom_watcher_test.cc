// The shim's inotify OOM watch on regular files standing in for memory.events: a rewrite of the
// file reports the task's oom_kill counter on the loop, several tasks share one inotify fd, a
// removed task or a deleted file reports nothing more, and a cgroup without memory.events (no
// memory controller) is not watched.
#include "shim/shimv2/oom_watcher.h"

#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace podshim::shim::shimv2 {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kEvents = "low 0\nhigh 0\nmax 4\noom 1\noom_kill %d\noom_group_kill 0\n";

std::string EventsText(int kills) {
  char buf[128];
  std::snprintf(buf, sizeof buf, kEvents, kills);
  return buf;
}

class OomWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "oomwatch-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Cgroup(const std::string& name, std::optional<int> kills) {
    fs::path cg = dir_ / name;
    fs::create_directories(cg);
    if (kills) SetKills(cg, *kills);
    return cg;
  }
  static void SetKills(const fs::path& cg, int kills) {
    std::ofstream(cg / "memory.events", std::ios::trunc) << EventsText(kills);
  }
  void RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 2s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
      loop_.run_for(10ms);
      loop_.restart();
    }
  }

  fs::path dir_;
  boost::asio::io_context loop_;
  std::vector<std::pair<std::string, uint64_t>> reports_;
  AsioOomWatch watch_{
      loop_, [this](const std::string& id, uint64_t kills) { reports_.emplace_back(id, kills); }};
};

TEST(OomKillsIn, ReadsTheOomKillCounter) {
  EXPECT_EQ(OomKillsIn(EventsText(3)), 3u);
  EXPECT_EQ(OomKillsIn("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"), 0u);  // 5.4: no group kill
  EXPECT_EQ(OomKillsIn("oom_kill x\n"), std::nullopt);
}

TEST_F(OomWatcherTest, ARewrittenFileReportsTheCounterOnTheLoop) {
  fs::path cg = Cgroup("t1", 0);
  auto added = watch_.Add("t1", cg);
  ASSERT_TRUE(added) << added.error().ToString();
  EXPECT_EQ(*added, 0u);
  EXPECT_EQ(watch_.size(), 1u);
  SetKills(cg, 1);
  EXPECT_TRUE(reports_.empty()) << "reports come from the loop only";
  RunUntil([&] { return !reports_.empty(); });
  ASSERT_FALSE(reports_.empty());
  EXPECT_EQ(reports_.back(), std::make_pair(std::string("t1"), uint64_t{1}));
  EXPECT_EQ(watch_.Read("t1"), 1u);
  EXPECT_EQ(watch_.Read("unknown"), std::nullopt);
}

TEST_F(OomWatcherTest, TasksShareOneInotifyFdAndARemovedTaskReportsNothing) {
  fs::path a = Cgroup("a", 0), b = Cgroup("b", 0);
  ASSERT_TRUE(watch_.Add("a", a));
  ASSERT_TRUE(watch_.Add("b", b));
  ASSERT_TRUE(watch_.Add("a2", a));  // two tasks in one cgroup: one kernel watch
  SetKills(b, 2);
  RunUntil([&] { return !reports_.empty(); });
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_EQ(reports_[0].first, "b");

  reports_.clear();
  watch_.Remove("a");
  SetKills(a, 1);
  RunUntil([&] { return !reports_.empty(); });
  ASSERT_EQ(reports_.size(), 1u) << "a2 still watches the file";
  EXPECT_EQ(reports_[0], std::make_pair(std::string("a2"), uint64_t{1}));

  reports_.clear();
  watch_.Remove("a2");
  watch_.Remove("b");
  watch_.Remove("never-added");
  SetKills(a, 5);
  SetKills(b, 5);
  RunUntil([] { return false; }, 100ms);
  EXPECT_TRUE(reports_.empty());
  EXPECT_EQ(watch_.size(), 0u);
}

TEST_F(OomWatcherTest, ACgroupWithoutMemoryEventsIsNotWatched) {
  auto added = watch_.Add("t1", Cgroup("nomem", std::nullopt));
  ASSERT_TRUE(added) << added.error().ToString();
  EXPECT_EQ(*added, std::nullopt);
  EXPECT_EQ(watch_.size(), 0u);
  EXPECT_EQ(watch_.Read("t1"), std::nullopt);
}

TEST_F(OomWatcherTest, AnUnreadableCounterIsAnErrorAndWatchesNothing) {
  fs::path cg = Cgroup("bad", std::nullopt);
  std::ofstream(cg / "memory.events") << "oom_kill lots\n";
  EXPECT_FALSE(watch_.Add("t1", cg));
  EXPECT_EQ(watch_.size(), 0u);
}

TEST_F(OomWatcherTest, AFileGoneWithItsCgroupEndsTheWatch) {
  fs::path cg = Cgroup("gone", 0);
  ASSERT_TRUE(watch_.Add("t1", cg));
  fs::remove_all(cg);
  RunUntil([] { return false; }, 100ms);
  EXPECT_TRUE(reports_.empty());
  EXPECT_EQ(watch_.Read("t1"), std::nullopt);
  watch_.Remove("t1");  // after the kernel dropped it: nothing to remove
  EXPECT_EQ(watch_.size(), 0u);
}

}  // namespace
}  // namespace podshim::shim::shimv2
