#include "shim/record/state_writer.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/sys.h"
#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;

PodEvent Exited(int code) {
  PodEvent e;
  e.type = "ContainerExited";
  e.container = "app";
  e.fields = {{"exitCode", int64_t{code}}};
  return e;
}

// Sends the shim's log to a string while it lives.
class CapturedLog {
 public:
  CapturedLog() : old_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)));
  }
  ~CapturedLog() { spdlog::set_default_logger(old_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> old_;
};

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class StateWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    auto events = EventWriter::Open(dir_.path() / "events.jsonl", "demo");
    ASSERT_TRUE(events);
    events_.emplace(std::move(*events));
    ASSERT_TRUE(sys::MakeDirs(records_.Dir("app")));
  }

  // Exit records of app cannot be written until FreeExitRecords(): their temporary file is a
  // directory (a /dev/full link would be removed with the failed write's temporary file).
  void FillExitRecords() { fs::create_directory(records_.Dir("app") / "exit.tmp"); }
  void FreeExitRecords() { fs::remove(records_.Dir("app") / "exit.tmp"); }
  size_t EventLines() const {
    std::string text = sys::ReadFile(dir_.path() / "events.jsonl").value_or("");
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }

  testing::TempDir dir_;
  ExitRecords records_{dir_.path()};
  std::optional<EventWriter> events_;
};

TEST_F(StateWriterTest, WritesAtOnceWhenThereIsRoom) {
  StateWriter w(records_, *events_, dir_.path() / "status.json");
  w.WriteExit("app", {3, false});
  w.WriteEvent(Exited(3));
  w.WriteStatus("{}\n");
  EXPECT_FALSE(w.pending());
  EXPECT_EQ(*records_.Read("app"), (ExitRecord{3, false}));
  EXPECT_EQ(EventLines(), 1u);
  EXPECT_EQ(sys::ReadFile(dir_.path() / "status.json").value_or(""), "{}\n");
}

// An exit record that cannot be written is kept (the latest per container); events and status
// wait behind it, so on disk the record still comes before what reports the exit. Once there
// is room everything is written; the failure is logged once, however often it is retried.
TEST_F(StateWriterTest, KeepsWhatCannotBeWrittenAndWritesItInOrderLater) {
  CapturedLog log;
  StateWriter w(records_, *events_, dir_.path() / "status.json");
  FillExitRecords();
  w.WriteExit("app", {11, false});
  w.WriteEvent(Exited(11));
  w.WriteStatus("{\"n\": 1}\n");
  w.WriteExit("app", {12, true});
  w.WriteEvent(Exited(12));
  w.WriteStatus("{\"n\": 2}\n");
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(w.Flush());
  EXPECT_TRUE(w.pending());
  EXPECT_FALSE(records_.Read("app")->has_value());
  EXPECT_EQ(EventLines(), 0u);
  EXPECT_FALSE(fs::exists(dir_.path() / "status.json"));
  EXPECT_EQ(w.DescribePending().front(), "exit record of app: 12 (OOM killed)");
  EXPECT_EQ(Occurrences(log.text(), "cannot write exit records"), 1u) << log.text();
  EXPECT_NE(log.text().find("exit.tmp"), std::string::npos) << log.text();

  FreeExitRecords();
  EXPECT_TRUE(w.Flush());
  EXPECT_FALSE(w.pending());
  EXPECT_EQ(*records_.Read("app"), (ExitRecord{12, true}));
  EXPECT_EQ(EventLines(), 2u);
  EXPECT_EQ(events_->count(), 2u);
  EXPECT_EQ(sys::ReadFile(dir_.path() / "status.json").value_or(""), "{\"n\": 2}\n");
  EXPECT_EQ(Occurrences(log.text(), "exit records written again"), 1u) << log.text();
}

// Each container's record waits on its own: one that fails does not drop another's.
TEST_F(StateWriterTest, RecordsOfOtherContainersAreKeptToo) {
  StateWriter w(records_, *events_, dir_.path() / "status.json");
  FillExitRecords();
  w.WriteExit("app", {1, false});
  w.WriteExit("side", {2, false});
  EXPECT_EQ(w.DescribePending().size(), 2u);
  FreeExitRecords();
  EXPECT_TRUE(w.Flush());
  EXPECT_EQ(*records_.Read("app"), (ExitRecord{1, false}));
  EXPECT_EQ(*records_.Read("side"), (ExitRecord{2, false}));
}

}  // namespace
}  // namespace podshim::shim
