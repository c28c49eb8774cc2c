#include "shim/record/events.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

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

// Lines already in the file (a shim taking a pod over goes on in its file) keep their numbers;
// a torn last line (the dead shim died inside its write) is cut off first.
TEST(EventWriter, NumbersTheLinesAlreadyThereAndReadsBackBySequenceNumber) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto path = dir.path() / "events.jsonl";
  ASSERT_TRUE(sys::WriteFile(path, "{\"type\":\"FromAnEarlierWriter\"}\n{\"type\":\"To"));
  auto w = EventWriter::Open(path, "demo");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->count(), 1u);
  for (int i = 0; i < 5; ++i) {
    PodEvent e = ExitedEvent();
    e.fields = {{"n", int64_t{i}}};
    ASSERT_TRUE(w->Write(e));
  }
  EXPECT_EQ(w->count(), 6u);
  auto n_of = [](const std::string& line) { return nlohmann::json::parse(line)["n"].get<int>(); };
  auto all = w->ReadFrom(1, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 6u);
  EXPECT_EQ((*all)[0], "{\"type\":\"FromAnEarlierWriter\"}");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(n_of((*all)[i + 1]), i);
  auto middle = w->ReadFrom(3, 2);
  ASSERT_TRUE(middle);
  ASSERT_EQ(middle->size(), 2u);
  EXPECT_EQ(n_of((*middle)[0]), 1);
  EXPECT_EQ(n_of((*middle)[1]), 2);
  auto zero_is_one = w->ReadFrom(0, 1);
  ASSERT_TRUE(zero_is_one);
  ASSERT_EQ(zero_is_one->size(), 1u);
  EXPECT_EQ(zero_is_one->front(), "{\"type\":\"FromAnEarlierWriter\"}");
  auto past_end = w->ReadFrom(7, 10);
  ASSERT_TRUE(past_end);
  EXPECT_TRUE(past_end->empty());
  // The torn line is gone: every line of the file is whole JSON.
  std::istringstream in(*sys::ReadFile(path));
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

TEST(EventWriter, OpenFailsNamingTheMissingDirectory) {
  auto w = EventWriter::Open("/nonexistent-podshim-dir/events.jsonl", "demo");
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().ToString().find("/nonexistent-podshim-dir/events.jsonl"), std::string::npos);
}

// The events file is /dev/full: nothing can be written, so events wait in memory, in order, and
// are not numbered (ctl events serves only what is in the file).
TEST(EventWriter, EventsThatCannotBeWrittenStayQueuedInOrder) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto path = dir.path() / "events.jsonl";
  std::filesystem::create_symlink("/dev/full", path);
  auto w = EventWriter::Open(path, "demo");
  ASSERT_TRUE(w) << w.error().ToString();
  for (int i = 0; i < 3; ++i) {
    PodEvent e = ExitedEvent();
    e.fields = {{"n", int64_t{i}}};
    Status st = w->Write(e);
    ASSERT_FALSE(st);
    // (later: /dev/full cannot be truncated, which is tried before the next line)
    if (i == 0) {
      EXPECT_EQ(st.error().code(), std::errc::no_space_on_device);
    }
  }
  EXPECT_EQ(w->count(), 0u);
  ASSERT_EQ(w->pending(), 3u);
  std::vector<std::string> lines = w->PendingLines();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(nlohmann::json::parse(lines[i])["n"], i);
}

// Beyond the bound the oldest queued events are dropped, and an EventsLost line with their
// number goes where they were.
TEST(EventWriter, FullQueueDropsTheOldestAndReportsHowMany) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto path = dir.path() / "events.jsonl";
  std::filesystem::create_symlink("/dev/full", path);
  const size_t line_size = EventToJsonLine(ExitedEvent(), "demo").size();
  auto w = EventWriter::Open(path, "demo", 3 * line_size);
  ASSERT_TRUE(w);
  for (int i = 0; i < 5; ++i) (void)w->Write(ExitedEvent());
  EXPECT_EQ(w->pending(), 3u);
  EXPECT_EQ(w->lost(), 2u);
}

// A write that fails in the middle of a line (here: the file size limit) leaves no half line;
// once writing works again the queued events follow, the first one lost in front of them.
TEST(EventWriter, PartlyWrittenLineIsCutOffAndQueueIsWrittenLater) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto path = dir.path() / "events.jsonl";
  // The file size limit is per process: a child process tries it.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    auto w = EventWriter::Open(path, "demo", 2 * EventToJsonLine(ExitedEvent(), "demo").size());
    if (!w || !w->Write(ExitedEvent())) ::_exit(10);
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    rlimit small = old;
    small.rlim_cur = static_cast<rlim_t>(w->ReadFrom(1, 1)->front().size() + 1 + 20);
    if (::setrlimit(RLIMIT_FSIZE, &small) != 0) ::_exit(11);
    for (int i = 0; i < 3; ++i) {
      if (w->Write(ExitedEvent())) ::_exit(12);  // must fail: the line does not fit
    }
    // Only the whole first line is in the file.
    auto text = sys::ReadFile(path);
    if (!text || std::count(text->begin(), text->end(), '\n') != 1 ||
        text->size() != w->ReadFrom(1, 1)->front().size() + 1) {
      ::_exit(13);
    }
    if (w->pending() != 2 || w->lost() != 1) ::_exit(14);
    if (::setrlimit(RLIMIT_FSIZE, &old) != 0) ::_exit(15);
    if (!w->Flush() || w->pending() != 0 || w->count() != 4) ::_exit(16);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto text = sys::ReadFile(path);
  ASSERT_TRUE(text);
  std::vector<std::string> types;
  size_t start = 0;
  for (size_t nl; (nl = text->find('\n', start)) != std::string::npos; start = nl + 1) {
    auto j = nlohmann::json::parse(text->substr(start, nl - start), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << *text;
    types.push_back(j["type"]);
    if (j["type"] == "EventsLost") {
      EXPECT_EQ(j["count"], 1);
    }
  }
  EXPECT_EQ(start, text->size());
  EXPECT_EQ(types, (std::vector<std::string>{"ContainerExited", "EventsLost", "ContainerExited",
                                             "ContainerExited"}));
}

}  // namespace
}  // namespace podshim::shim
