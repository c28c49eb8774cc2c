#include "shim/events.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/sys.h"
#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim {
namespace {

using std::chrono::nanoseconds;
using std::chrono::system_clock;

// 2026-11-22T11:19:20.000000005Z
const system_clock::time_point kTime =
    system_clock::time_point(std::chrono::seconds(1795346360)) + nanoseconds(5);

PodEvent ExitedEvent() {
  PodEvent e;
  e.type = "ContainerExited";
  e.time = kTime;
  e.container = "web";
  e.role = Role::kApp;
  e.fields = {{"exitCode", int64_t{143}},
              {"signal", std::string("SIGTERM")},
              {"reason", std::string("Error")},
              {"restartCount", int64_t{2}}};
  return e;
}

TEST(EventToJsonLine, ContainerEventHasCommonKeysFirstThenFields) {
  std::string line = EventToJsonLine(ExitedEvent(), "demo");
  EXPECT_EQ(line,
            R"({"time":"2026-11-22T11:19:20.000000005Z","pod":"demo","type":"ContainerExited",)"
            R"("container":"web","role":"app","exitCode":143,"signal":"SIGTERM",)"
            R"("reason":"Error","restartCount":2})");
}

TEST(EventToJsonLine, PodEventHasNoContainerOrRoleAndKeepsNulls) {
  PodEvent e;
  e.type = "PodStarted";
  e.time = kTime;
  e.fields = {{"cgroup", std::string("/sys/fs/cgroup/podshim/pod-demo")},
              {"qosClass", std::string("BestEffort")},
              {"none", nullptr},
              {"flag", true}};
  auto j = nlohmann::json::parse(EventToJsonLine(e, "demo"));
  EXPECT_FALSE(j.contains("container"));
  EXPECT_FALSE(j.contains("role"));
  EXPECT_EQ(j["type"], "PodStarted");
  EXPECT_EQ(j["cgroup"], "/sys/fs/cgroup/podshim/pod-demo");
  EXPECT_TRUE(j["none"].is_null());
  EXPECT_EQ(j["flag"], true);
}

TEST(EventToJsonLine, InvalidUtf8IsReplacedNotThrown) {
  PodEvent e = ExitedEvent();
  e.fields = {{"message", std::string("bad \xff byte")}};
  auto j = nlohmann::json::parse(EventToJsonLine(e, "demo"), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["message"], "bad \xEF\xBF\xBD byte");
}

TEST(EventWriter, AppendsOneLinePerEventInOrder) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto path = dir.path() / "events.jsonl";
  {
    auto w = EventWriter::Open(path, "demo");
    ASSERT_TRUE(w) << w.error().ToString();
    PodEvent started = ExitedEvent();
    started.type = "ContainerStarted";
    started.fields = {{"pid", int64_t{42}}, {"restartCount", int64_t{0}}};
    ASSERT_TRUE(w->Write(started));
    // Visible to a reader right away: nothing is buffered.
    auto text = sys::ReadFile(path);
    ASSERT_TRUE(text);
    EXPECT_EQ(std::count(text->begin(), text->end(), '\n'), 1);
    ASSERT_TRUE(w->Write(ExitedEvent()));
  }
  // A second writer appends, it does not truncate.
  auto w2 = EventWriter::Open(path, "demo");
  ASSERT_TRUE(w2);
  PodEvent fin;
  fin.type = "PodFinished";
  fin.time = kTime;
  fin.fields = {{"phase", std::string("Succeeded")}};
  ASSERT_TRUE(w2->Write(fin));
  auto text = sys::ReadFile(path);
  ASSERT_TRUE(text);
  std::vector<std::string> types;
  size_t start = 0;
  for (size_t nl; (nl = text->find('\n', start)) != std::string::npos; start = nl + 1) {
    types.push_back(nlohmann::json::parse(text->substr(start, nl - start))["type"]);
  }
  EXPECT_EQ(types,
            (std::vector<std::string>{"ContainerStarted", "ContainerExited", "PodFinished"}));
}

TEST(EventWriter, ReadsBackItsOwnEventsBySequenceNumber) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto path = dir.path() / "events.jsonl";
  ASSERT_TRUE(sys::WriteFile(path, "{\"type\":\"FromAnEarlierWriter\"}\n"));
  auto w = EventWriter::Open(path, "demo");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->count(), 0u);
  for (int i = 0; i < 5; ++i) {
    PodEvent e = ExitedEvent();
    e.fields = {{"n", int64_t{i}}};
    ASSERT_TRUE(w->Write(e));
  }
  EXPECT_EQ(w->count(), 5u);
  auto n_of = [](const std::string& line) { return nlohmann::json::parse(line)["n"].get<int>(); };
  auto all = w->ReadFrom(1, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(n_of((*all)[i]), i);
  auto middle = w->ReadFrom(2, 2);
  ASSERT_TRUE(middle);
  ASSERT_EQ(middle->size(), 2u);
  EXPECT_EQ(n_of((*middle)[0]), 1);
  EXPECT_EQ(n_of((*middle)[1]), 2);
  auto zero_is_one = w->ReadFrom(0, 1);
  ASSERT_TRUE(zero_is_one);
  ASSERT_EQ(zero_is_one->size(), 1u);
  EXPECT_EQ(n_of(zero_is_one->front()), 0);
  auto past_end = w->ReadFrom(6, 10);
  ASSERT_TRUE(past_end);
  EXPECT_TRUE(past_end->empty());
}

TEST(EventWriter, OpenFailsNamingTheMissingDirectory) {
  auto w = EventWriter::Open("/nonexistent-podshim-dir/events.jsonl", "demo");
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().ToString().find("/nonexistent-podshim-dir/events.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace podshim::shim
