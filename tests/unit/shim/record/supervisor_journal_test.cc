// The supervisor journal's line format (every input kind round-trips; a bad line names its
// field), ReadJournal (missing file, torn last line, a bad middle line, the size bound) and
// SupervisorJournal::Append (one line per entry, appended).
#include "shim/record/supervisor_journal.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/sys.h"
#include "fixtures/fakes/fake_clock.h"
#include "fixtures/fakes/temp_dir.h"
#include "shim/pod/input_clock.h"
#include "shim/pod/journal_replay.h"

namespace podshim::shim {
namespace {

using Kind = SupervisorInput::Kind;
using std::chrono::seconds;
using ::testing::HasSubstr;

JournalEntry At(SupervisorInput in, int64_t steady_ns = 3'600'000'000'123,
                int64_t wall_ns = 1'795'346'360'000'000'005) {
  JournalEntry e;
  e.now = Clock::TimePoint(Clock::Duration(steady_ns));
  e.wall = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(wall_ns)));
  e.input = std::move(in);
  return e;
}

// One input of every kind, and the variants of the kinds with optional parts.
std::vector<SupervisorInput> EveryInput() {
  std::vector<SupervisorInput> all;
  SupervisorInput start = SupervisorInput::Of(Kind::kStart);
  all.push_back(start);  // no digest (an older shim's journal)
  start.message = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  all.push_back(start);
  SupervisorInput started = SupervisorInput::Of(Kind::kStarted, "web");
  started.pid = 4242;
  started.start_ticks = 123456789012;
  started.leaf = "podshim/pod-demo/web-3";
  all.push_back(started);
  started.leaf = "";  // without cgroups
  started.start_ticks = 0;
  all.push_back(started);
  SupervisorInput failed = SupervisorInput::Of(Kind::kStartFailed, "web");
  failed.message = "exec: \"/bin/nope\": no such file or directory\n\ttab";
  all.push_back(failed);
  all.push_back(SupervisorInput::Exited("web", ContainerExit::Code(0)));
  all.push_back(SupervisorInput::Exited("web", ContainerExit::Code(3)));
  all.push_back(SupervisorInput::Exited("web", ContainerExit::Signalled(SIGKILL)));
  all.push_back(SupervisorInput::Exited("web", ContainerExit::Signalled(SIGTERM)));
  ContainerExit oom = ContainerExit::Signalled(SIGKILL);
  oom.oom = true;
  all.push_back(SupervisorInput::Exited("web", oom));
  all.push_back(SupervisorInput::Exited("web", ContainerExit::Unknown()));
  all.push_back(SupervisorInput::Of(Kind::kStartupSucceeded, "web"));
  all.push_back(SupervisorInput::WithFlag(Kind::kReadinessChanged, "web", true));
  all.push_back(SupervisorInput::WithFlag(Kind::kReadinessChanged, "web", false));
  all.push_back(SupervisorInput::WithFlag(Kind::kPostStartFinished, "web", true));
  all.push_back(SupervisorInput::WithFlag(Kind::kPostStartFinished, "web", false));
  SupervisorInput probe = SupervisorInput::Of(Kind::kProbeKill, "web");
  all.push_back(probe);  // the pod's grace
  probe.grace = seconds(7);
  all.push_back(probe);
  probe.grace = seconds(0);
  all.push_back(probe);
  all.push_back(SupervisorInput::Of(Kind::kRestartRequest, "web"));
  all.push_back(SupervisorInput::Of(Kind::kPreStopFinished, "web"));
  for (TerminationReason r : {TerminationReason::kSignal, TerminationReason::kRequest,
                              TerminationReason::kCompleted, TerminationReason::kFailed}) {
    all.push_back(SupervisorInput::StopRequest(r, std::nullopt));
    all.push_back(SupervisorInput::StopRequest(r, seconds(0)));
    all.push_back(SupervisorInput::StopRequest(r, seconds(45)));
  }
  all.push_back(SupervisorInput::Of(Kind::kDeadline));
  return all;
}

TEST(SupervisorJournalLine, EveryInputKindRoundTrips) {
  std::set<Kind> kinds;
  int64_t t = 1;
  for (const SupervisorInput& in : EveryInput()) {
    kinds.insert(in.kind);
    const JournalEntry e = At(in, t * 1'000'000'007, 1'795'346'360'000'000'000 + t);
    ++t;
    const std::string line = FormatJournalLine(e);
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    auto back = ParseJournalLine(line);
    ASSERT_TRUE(back) << line << ": " << back.error().ToString();
    EXPECT_EQ(*back, e) << line;
    EXPECT_EQ(back->input.kind, in.kind) << line;
    EXPECT_EQ(back->now, e.now) << line;
    EXPECT_EQ(back->wall, e.wall) << line;
  }
  EXPECT_EQ(kinds.size(), 12u) << "every SupervisorInput::Kind is covered";
}

TEST(SupervisorJournalLine, KindNamesRoundTripAndUnknownOnesAreRefused) {
  for (const SupervisorInput& in : EveryInput()) {
    EXPECT_EQ(ParseSupervisorInputName(SupervisorInputName(in.kind)), in.kind);
  }
  EXPECT_EQ(ParseSupervisorInputName("Launch"), std::nullopt);
  EXPECT_EQ(ParseSupervisorInputName("start"), std::nullopt);
}

TEST(SupervisorJournalLine, ExitedKeepsSignalOomAndUnknownApart) {
  ContainerExit oom = ContainerExit::Code(137);
  oom.oom = true;
  const std::string plain = FormatJournalLine(At(SupervisorInput::Exited("a", oom)));
  EXPECT_THAT(plain, HasSubstr(R"("oom":true)"));
  EXPECT_THAT(plain, ::testing::Not(HasSubstr(R"("sig")")));
  EXPECT_THAT(plain, ::testing::Not(HasSubstr(R"("unknown")")));
  auto back = ParseJournalLine(plain);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->input.exit.signal, std::nullopt);
  EXPECT_TRUE(back->input.exit.oom);
  EXPECT_FALSE(back->input.exit.unknown);

  auto unknown = ParseJournalLine(
      FormatJournalLine(At(SupervisorInput::Exited("a", ContainerExit::Unknown()))));
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->input.exit.unknown);
  EXPECT_EQ(unknown->input.exit.exit_code, ContainerExit::kUnknownExitCode);
}

TEST(SupervisorJournalLine, StartCarriesTheManifestDigest) {
  SupervisorInput start = SupervisorInput::Of(Kind::kStart);
  start.message = "sha256:abc";
  const std::string line = FormatJournalLine(At(start));
  EXPECT_THAT(line, HasSubstr(R"("in":"Start")"));
  EXPECT_THAT(line, HasSubstr(R"("msg":"sha256:abc")"));
  EXPECT_THAT(line, ::testing::Not(HasSubstr(R"("c")"))) << "a pod input names no container";
  auto back = ParseJournalLine(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->input.message, "sha256:abc");
}

TEST(SupervisorJournalLine, StopRequestWithoutGraceHasNoGraceKey) {
  const std::string none =
      FormatJournalLine(At(SupervisorInput::StopRequest(TerminationReason::kRequest, {})));
  EXPECT_THAT(none, ::testing::Not(HasSubstr("grace")));
  const std::string zero =
      FormatJournalLine(At(SupervisorInput::StopRequest(TerminationReason::kRequest, seconds(0))));
  EXPECT_THAT(zero, HasSubstr(R"("grace":0)"));
  auto a = ParseJournalLine(none);
  auto b = ParseJournalLine(zero);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->input.grace, std::nullopt);
  EXPECT_EQ(b->input.grace, seconds(0));
  EXPECT_EQ(b->input.reason, TerminationReason::kRequest);
}

// Each bad line is refused with an error that names the field at fault.
TEST(SupervisorJournalLine, BadLinesNameTheirField) {
  struct Case {
    std::string line;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"w":1,"in":"Deadline"})", R"("t")"},
      {R"({"t":"1","w":1,"in":"Deadline"})", R"("t")"},
      {R"({"t":1.5,"w":1,"in":"Deadline"})", R"("t")"},
      {R"({"t":1,"in":"Deadline"})", R"("w")"},
      {R"({"t":1,"w":1})", R"("in")"},
      {R"({"t":1,"w":1,"in":7})", R"("in")"},
      {R"({"t":1,"w":1,"in":"Explode"})", R"("in")"},
      {R"({"t":1,"w":1,"in":"Exited","code":0})", R"("c")"},
      {R"({"t":1,"w":1,"in":"Exited","c":5,"code":0})", R"("c")"},
      {R"({"t":1,"w":1,"in":"Exited","c":"a"})", R"("code")"},
      {R"({"t":1,"w":1,"in":"Exited","c":"a","code":-1})", R"("code")"},
      {R"({"t":1,"w":1,"in":"Exited","c":"a","code":999})", R"("code")"},
      {R"({"t":1,"w":1,"in":"Exited","c":"a","code":137,"sig":0})", R"("sig")"},
      {R"({"t":1,"w":1,"in":"Exited","c":"a","code":137,"sig":"KILL"})", R"("sig")"},
      {R"({"t":1,"w":1,"in":"Exited","c":"a","code":137,"oom":"yes"})", R"("oom")"},
      {R"({"t":1,"w":1,"in":"Exited","c":"a","code":137,"unknown":1})", R"("unknown")"},
      {R"({"t":1,"w":1,"in":"Started","c":"a","ticks":1,"leaf":""})", R"("pid")"},
      {R"({"t":1,"w":1,"in":"Started","c":"a","pid":0,"ticks":1,"leaf":""})", R"("pid")"},
      {R"({"t":1,"w":1,"in":"Started","c":"a","pid":4294967296,"ticks":1,"leaf":""})", R"("pid")"},
      {R"({"t":1,"w":1,"in":"Started","c":"a","pid":1,"leaf":""})", R"("ticks")"},
      {R"({"t":1,"w":1,"in":"Started","c":"a","pid":1,"ticks":-1,"leaf":""})", R"("ticks")"},
      {R"({"t":1,"w":1,"in":"Started","c":"a","pid":1,"ticks":1})", R"("leaf")"},
      {R"({"t":1,"w":1,"in":"StartFailed","c":"a"})", R"("msg")"},
      {R"({"t":1,"w":1,"in":"Start","msg":3})", R"("msg")"},
      {R"({"t":1,"w":1,"in":"ReadinessChanged","c":"a","flag":"true"})", R"("flag")"},
      {R"({"t":1,"w":1,"in":"PostStartFinished","c":"a","flag":null})", R"("flag")"},
      {R"({"t":1,"w":1,"in":"ProbeKill","c":"a","grace":-1})", R"("grace")"},
      {R"({"t":1,"w":1,"in":"ProbeKill","c":"a","grace":"5s"})", R"("grace")"},
      {R"({"t":1,"w":1,"in":"StopRequest"})", R"("reason")"},
      {R"({"t":1,"w":1,"in":"StopRequest","reason":"Bored"})", R"("reason")"},
  };
  for (const Case& c : cases) {
    auto e = ParseJournalLine(c.line);
    ASSERT_FALSE(e) << c.line << " was accepted";
    EXPECT_EQ(e.error().code(), make_error_code(ErrorCode::kInvalidSpec)) << c.line;
    EXPECT_THAT(e.error().ToString(), HasSubstr("journal field " + c.field)) << c.line;
  }
}

TEST(SupervisorJournalLine, NotAnObjectIsRefused) {
  for (std::string_view line : {"", "[1,2]", "{\"t\":1", "null", "garbage"}) {
    auto e = ParseJournalLine(line);
    ASSERT_FALSE(e) << line;
    EXPECT_THAT(e.error().ToString(), HasSubstr("not a JSON object")) << line;
  }
}

class ReadJournalTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }
  std::filesystem::path Path() const { return SupervisorJournal::PathIn(dir_.path()); }
  void Write(std::string_view text) const {
    std::ofstream out(Path(), std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::string Read() const {
    std::ifstream in(Path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  testing::TempDir dir_;
};

TEST_F(ReadJournalTest, PathIsInTheStateDir) {
  EXPECT_EQ(Path(), dir_.path() / "supervisor.journal");
}

TEST_F(ReadJournalTest, MissingFileIsAnEmptyJournal) {
  auto entries = ReadJournal(Path());
  ASSERT_TRUE(entries) << entries.error().ToString();
  EXPECT_TRUE(entries->empty());
}

TEST_F(ReadJournalTest, EmptyFileIsAnEmptyJournal) {
  Write("");
  auto entries = ReadJournal(Path());
  ASSERT_TRUE(entries) << entries.error().ToString();
  EXPECT_TRUE(entries->empty());
}

TEST_F(ReadJournalTest, ReadsEveryLineInOrder) {
  std::string text;
  std::vector<JournalEntry> want;
  int64_t t = 1;
  for (const SupervisorInput& in : EveryInput()) {
    want.push_back(At(in, t * 1000, t * 2000));
    text += FormatJournalLine(want.back()) + "\n";
    ++t;
  }
  Write(text);
  auto entries = ReadJournal(Path());
  ASSERT_TRUE(entries) << entries.error().ToString();
  EXPECT_EQ(*entries, want);
}

TEST_F(ReadJournalTest, TornLastLineIsLeftOut) {
  const JournalEntry a = At(SupervisorInput::Of(Kind::kStart), 1, 1);
  const JournalEntry b = At(SupervisorInput::Of(Kind::kDeadline), 2, 2);
  const std::string whole = FormatJournalLine(b);
  // Cut anywhere inside the second line: even a complete JSON object without its newline is
  // left out, since its write was not finished when the shim died.
  for (size_t cut : {size_t{1}, whole.size() / 2, whole.size()}) {
    Write(FormatJournalLine(a) + "\n" + whole.substr(0, cut));
    auto entries = ReadJournal(Path());
    ASSERT_TRUE(entries) << cut << ": " << entries.error().ToString();
    ASSERT_EQ(entries->size(), 1u) << cut;
    EXPECT_EQ(entries->front(), a);
  }
}

TEST_F(ReadJournalTest, BadMiddleLineIsAnErrorNamingFileAndLine) {
  const std::string good = FormatJournalLine(At(SupervisorInput::Of(Kind::kDeadline)));
  Write(good + "\n" + good + "\n" + R"({"t":1,"w":1,"in":"Exited","c":"a","code":"x"})" + "\n" +
        good + "\n");
  auto entries = ReadJournal(Path());
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  const std::string msg = entries.error().ToString();
  EXPECT_THAT(msg, HasSubstr(Path().string()));
  EXPECT_THAT(msg, HasSubstr("line 3"));
  EXPECT_THAT(msg, HasSubstr(R"("code")"));
}

TEST_F(ReadJournalTest, BadLastCompleteLineIsAnErrorToo) {
  const std::string good = FormatJournalLine(At(SupervisorInput::Of(Kind::kDeadline)));
  Write(good + "\n{}\n");
  auto entries = ReadJournal(Path());
  ASSERT_FALSE(entries);
  EXPECT_THAT(entries.error().ToString(), HasSubstr("line 2"));
}

// A sparse file just over the bound: refused (the check must not take the test long).
TEST_F(ReadJournalTest, LargerThanTheBoundIsRefused) {
  {
    UniqueFd fd = *sys::Open(Path(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(kMaxJournalBytes) + 1), 0);
  }
  const auto begin = std::chrono::steady_clock::now();
  auto entries = ReadJournal(Path());
  const auto took = std::chrono::steady_clock::now() - begin;
  ASSERT_FALSE(entries);
  EXPECT_THAT(entries.error().ToString(), HasSubstr("larger than"));
  EXPECT_THAT(entries.error().ToString(), HasSubstr(Path().string()));
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(ReadJournalTest, AppendWritesOneLinePerEntry) {
  auto journal = SupervisorJournal::Open(Path(), /*truncate=*/true);
  ASSERT_TRUE(journal) << journal.error().ToString();
  std::vector<JournalEntry> want;
  int64_t t = 1;
  for (const SupervisorInput& in : EveryInput()) {
    want.push_back(At(in, t, t));
    ++t;
    ASSERT_TRUE(journal->Append(want.back()));
    // Written at once (one write per entry), nothing kept back.
    EXPECT_EQ(journal->pending(), 0u);
    EXPECT_TRUE(journal->intact());
  }
  const std::string text = Read();
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), want.size());
  std::string expected;
  for (const JournalEntry& e : want) expected += FormatJournalLine(e) + "\n";
  EXPECT_EQ(text, expected);
  auto entries = ReadJournal(Path());
  ASSERT_TRUE(entries) << entries.error().ToString();
  EXPECT_EQ(*entries, want);
}

TEST_F(ReadJournalTest, OpenWithoutTruncateContinuesTheJournal) {
  const JournalEntry a = At(SupervisorInput::Of(Kind::kStart), 1, 1);
  const JournalEntry b = At(SupervisorInput::Of(Kind::kDeadline), 2, 2);
  {
    auto journal = SupervisorJournal::Open(Path(), /*truncate=*/true);
    ASSERT_TRUE(journal);
    ASSERT_TRUE(journal->Append(a));
  }
  {
    auto journal = SupervisorJournal::Open(Path(), /*truncate=*/false);
    ASSERT_TRUE(journal);
    ASSERT_TRUE(journal->Append(b));
  }
  auto entries = ReadJournal(Path());
  ASSERT_TRUE(entries);
  EXPECT_EQ(*entries, (std::vector<JournalEntry>{a, b}));
  {
    auto journal = SupervisorJournal::Open(Path(), /*truncate=*/true);
    ASSERT_TRUE(journal);
  }
  EXPECT_EQ(Read(), "") << "a new pod's journal starts empty";
}

// The whole way a recovery goes: appended by one supervisor's shim, read back from the file,
// replayed into a fresh supervisor: same restart count, back-off deadline, state and events.
TEST_F(ReadJournalTest, AJournalReadBackReplaysIntoTheSameState) {
  ContainerPlan web;
  web.name = "web";
  PodPlan plan{.pod_name = "demo", .grace = seconds(10), .containers = {web}};
  FakeClock fake;
  InputClock clock;
  auto sup = Supervisor::Create(plan, clock);
  ASSERT_TRUE(sup);
  auto journal = SupervisorJournal::Open(Path(), /*truncate=*/true);
  ASSERT_TRUE(journal);
  std::vector<PodEvent> events;
  auto apply = [&](SupervisorInput in) {
    clock.SetFrom(fake);
    ASSERT_TRUE(journal->Append({clock.Now(), clock.WallNow(), in}));
    ASSERT_TRUE(ApplyInput(*sup, in));
    for (SupervisorAction& a : sup->TakeActions()) {
      if (auto* e = std::get_if<EmitAction>(&a)) events.push_back(e->event);
    }
  };
  SupervisorInput start = SupervisorInput::Of(Kind::kStart);
  start.message = "sha256:beef";
  apply(start);
  for (int i = 0; i < 3; ++i) {
    fake.Advance(std::chrono::milliseconds(250));
    SupervisorInput started = SupervisorInput::Of(Kind::kStarted, "web");
    started.pid = 300 + i;
    started.start_ticks = 7000 + static_cast<uint64_t>(i);
    started.leaf = "podshim/pod-demo/web-" + std::to_string(i);
    apply(started);
    fake.Advance(seconds(2));
    apply(SupervisorInput::Exited("web", ContainerExit::Code(i + 1)));
    ASSERT_TRUE(sup->NextDeadline());
    fake.AdvanceTo(*sup->NextDeadline());
    apply(SupervisorInput::Of(Kind::kDeadline));
  }
  ASSERT_FALSE(HasFailure());

  auto entries = ReadJournal(Path());
  ASSERT_TRUE(entries) << entries.error().ToString();
  ASSERT_EQ(entries->size(), 10u);
  EXPECT_EQ(entries->front().input.message, "sha256:beef");
  InputClock clock2;
  auto again = Supervisor::Create(plan, clock2);
  ASSERT_TRUE(again);
  auto out = ReplayJournal(*entries, *again, clock2);
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(again->NextDeadline(), sup->NextDeadline());
  EXPECT_EQ(again->Launching(), sup->Launching());
  EXPECT_EQ(again->Launching(), std::vector<std::string>{"web"});
  const ContainerSnapshot a = again->Snapshot().containers.at(0);
  const ContainerSnapshot b = sup->Snapshot().containers.at(0);
  EXPECT_EQ(a.restart_count, 3);
  EXPECT_EQ(a.restart_count, b.restart_count);
  ASSERT_TRUE(a.last_state && b.last_state);
  EXPECT_EQ(a.last_state->exit_code, b.last_state->exit_code);
  EXPECT_EQ(a.last_state->finished_at, b.last_state->finished_at);
  ASSERT_EQ(out->events.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(out->events[i].type, events[i].type) << i;
    EXPECT_EQ(out->events[i].time, events[i].time) << i;
    EXPECT_EQ(out->events[i].fields, events[i].fields) << i;
  }
  EXPECT_EQ(out->starts.at("web").pid, 302);
  EXPECT_EQ(out->starts.at("web").start_ticks, 7002u);
  EXPECT_EQ(out->starts.at("web").leaf, "podshim/pod-demo/web-2");
}

}  // namespace
}  // namespace podshim::shim
