// The pure and /proc-reading parts of taking a pod back: MissingEvents (which of the replayed
// events the dead shim never wrote) and TakeBackProcess on real children forked by the test
// (the same process is taken back; a wrong start time, a zombie, a gone pid or another cgroup
// is not), AdoptedExit from a keeper's exit file, and the pipes a keeper held going to their
// instances.
#include "shim/run/pod_recovery.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/proc_stat.h"
#include "common/sys.h"
#include "shim/keeper/keeper_protocol.h"
#include "shim/record/events.h"

namespace podshim::shim {
namespace {

using std::chrono::seconds;

PodEvent Event(std::string type, int64_t second, std::string container = "",
               std::vector<EventField> fields = {}) {
  PodEvent e;
  e.type = std::move(type);
  e.time = WallTime(seconds(1'795'346'360 + second));
  e.container = std::move(container);
  if (!e.container.empty()) e.role = Role::kApp;
  e.fields = std::move(fields);
  return e;
}

std::vector<std::string> Lines(const std::vector<PodEvent>& events, std::string_view pod = "demo") {
  std::vector<std::string> out;
  for (const PodEvent& e : events) out.push_back(EventToJsonLine(e, pod));
  return out;
}

std::vector<std::string> Types(const std::vector<PodEvent>& events) {
  std::vector<std::string> out;
  for (const PodEvent& e : events)
    out.push_back(e.type + "@" + std::to_string(e.time.time_since_epoch().count()));
  return out;
}

const PodEvent kLaunch = Event("ContainerLaunched", 1, "web");
const PodEvent kStarted = Event("ContainerStarted", 2, "web", {{"pid", int64_t{42}}});
const PodEvent kExited = Event("ContainerExited", 5, "web",
                               {{"exitCode", int64_t{1}}, {"reason", std::string("Error")}});
const PodEvent kBackOff = Event("ContainerBackOff", 5, "web", {{"delaySeconds", int64_t{10}}});
const PodEvent kTerm = Event("TerminationStarted", 9, "", {{"reason", std::string("Signal")}});

TEST(MissingEvents, AllWrittenMeansNoneMissing) {
  const std::vector<PodEvent> replayed = {kLaunch, kStarted, kExited, kBackOff};
  EXPECT_TRUE(MissingEvents(replayed, Lines(replayed), "demo").empty());
  EXPECT_TRUE(MissingEvents({}, Lines(replayed), "demo").empty());
}

TEST(MissingEvents, TheUnwrittenOnesInReplayOrder) {
  const std::vector<PodEvent> replayed = {kLaunch, kStarted, kExited, kBackOff, kTerm};
  // The dead shim wrote the first two; the rest it emitted but never wrote.
  auto missing = MissingEvents(replayed, Lines({kLaunch, kStarted}), "demo");
  EXPECT_EQ(Types(missing), Types({kExited, kBackOff, kTerm}));
  // Nothing written at all: every one, in order.
  EXPECT_EQ(Types(MissingEvents(replayed, {}, "demo")), Types(replayed));
  // A gap in the middle (a write failed, later ones went through): only the gap.
  EXPECT_EQ(Types(MissingEvents(replayed, Lines({kLaunch, kExited, kTerm}), "demo")),
            Types({kStarted, kBackOff}));
}

TEST(MissingEvents, EachWrittenLineAnswersForOneReplayedEvent) {
  // The same event twice (same type, time and fields), written once: one is missing.
  const std::vector<PodEvent> replayed = {kLaunch, kStarted, kStarted, kExited};
  auto missing = MissingEvents(replayed, Lines({kLaunch, kStarted, kExited}), "demo");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].type, "ContainerStarted");
  // Written twice: none missing.
  EXPECT_TRUE(
      MissingEvents(replayed, Lines({kLaunch, kStarted, kStarted, kExited}), "demo").empty());
  // Written three times (one extra line) answers for no other event.
  auto more = MissingEvents(replayed, Lines({kStarted, kStarted, kStarted}), "demo");
  EXPECT_EQ(Types(more), Types({kLaunch, kExited}));
}

TEST(MissingEvents, LinesTheSupervisorDidNotEmitAreIgnored) {
  // PodStarted and EventsLost are the shim's own lines, not the supervisor's.
  const PodEvent pod_started = Event("PodStarted", 0, "", {{"qosClass", std::string("Burstable")}});
  const PodEvent lost = Event("EventsLost", 3, "", {{"count", int64_t{2}}});
  const std::vector<PodEvent> replayed = {kLaunch, kStarted};
  auto missing = MissingEvents(replayed, Lines({pod_started, kLaunch, lost}), "demo");
  EXPECT_EQ(Types(missing), Types({kStarted}));
}

TEST(MissingEvents, AnEventDifferingInAnyFieldIsMissing) {
  PodEvent other_time = kExited;
  other_time.time += std::chrono::nanoseconds(1);
  PodEvent other_field = kExited;
  other_field.fields[0].value = int64_t{2};
  const std::vector<PodEvent> replayed = {kExited};
  EXPECT_EQ(MissingEvents(replayed, Lines({other_time}), "demo").size(), 1u);
  EXPECT_EQ(MissingEvents(replayed, Lines({other_field}), "demo").size(), 1u);
  // Lines of another pod's name do not count.
  EXPECT_EQ(MissingEvents(replayed, Lines({kExited}, "other"), "demo").size(), 1u);
}

// A child that sleeps until killed; killed and reaped at the end unless reaped already.
class Child {
 public:
  Child() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Kills it and waits until it is a zombie (not reaped).
  void MakeZombie() {
    ::kill(pid_, SIGKILL);
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
  }
  void Reap() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// The journal's record of `child`: its pid and real start time, no cgroup.
ReplayedStart StartOf(const Child& child) {
  ReplayedStart s;
  s.pid = child.pid();
  auto st = ReadProcStat(child.pid());
  if (st) s.start_ticks = st->start_ticks;
  return s;
}

TEST(TakeBackProcess, TheSameProcessIsTakenBack) {
  Child child;
  ASSERT_GT(child.pid(), 0);
  const ReplayedStart start = StartOf(child);
  ASSERT_GT(start.start_ticks, 0u);
  auto handle = TakeBackProcess(start);
  ASSERT_TRUE(handle) << handle.error().ToString();
  ASSERT_TRUE(handle->has_value());
  EXPECT_EQ((*handle)->pid(), child.pid());
  ASSERT_GE((*handle)->pidfd(), 0);
  // The pidfd is the child's: it becomes readable when the child exits.
  pollfd p{(*handle)->pidfd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  ::kill(child.pid(), SIGKILL);
  EXPECT_EQ(::poll(&p, 1, 5000), 1);
}

TEST(TakeBackProcess, AnotherStartTimeIsAnotherProcess) {
  Child child;
  ReplayedStart start = StartOf(child);
  ASSERT_GT(start.start_ticks, 0u);
  for (uint64_t ticks : {start.start_ticks - 1, start.start_ticks + 1, uint64_t{0}}) {
    ReplayedStart wrong = start;
    wrong.start_ticks = ticks;
    auto handle = TakeBackProcess(wrong);
    ASSERT_TRUE(handle) << handle.error().ToString();
    EXPECT_FALSE(handle->has_value()) << ticks;
  }
}

TEST(TakeBackProcess, AZombieIsNotTakenBack) {
  Child child;
  const ReplayedStart start = StartOf(child);
  child.MakeZombie();
  ASSERT_EQ(ReadProcStat(child.pid())->state, 'Z');
  auto handle = TakeBackProcess(start);
  ASSERT_TRUE(handle) << handle.error().ToString();
  EXPECT_FALSE(handle->has_value());
}

TEST(TakeBackProcess, AGonePidIsNotTakenBack) {
  Child child;
  const ReplayedStart start = StartOf(child);
  child.Reap();
  auto handle = TakeBackProcess(start);
  ASSERT_TRUE(handle) << handle.error().ToString();
  EXPECT_FALSE(handle->has_value());
}

TEST(TakeBackProcess, AnotherCgroupIsNotTakenBack) {
  Child child;
  const ReplayedStart start = StartOf(child);
  auto actual = ReadProcCgroupV2(child.pid());
  ASSERT_TRUE(actual) << actual.error().ToString();
  const std::string path = *actual;  // "/" or "/a/b"
  std::vector<std::string> wrong = {"podshim/pod-demo/web-0", "nosuch"};
  if (path != "/") {
    const std::string rel = path.substr(1);
    wrong.push_back(rel + "-0");                     // a sibling sharing the prefix
    wrong.push_back(rel.substr(0, rel.size() - 1));  // a prefix that is no ancestor
    wrong.push_back(rel + "/below");                 // a child cgroup of its own
  }
  for (const std::string& leaf : wrong) {
    ReplayedStart s = start;
    s.leaf = leaf;
    auto handle = TakeBackProcess(s);
    ASSERT_TRUE(handle) << handle.error().ToString();
    EXPECT_FALSE(handle->has_value()) << leaf << " vs " << path;
  }
  if (path == "/") {
    // This host runs the tests in the cgroup v2 root, which no leaf names: only the mismatch
    // can be shown here.
    GTEST_SKIP() << "the test runs in the cgroup v2 root: no matching leaf to try";
  }
  ReplayedStart same = start;
  same.leaf = path.substr(1);
  auto handle = TakeBackProcess(same);
  ASSERT_TRUE(handle) << handle.error().ToString();
  EXPECT_TRUE(handle->has_value()) << same.leaf;
}

TEST(AttachHeldPipesTest, HeldPipesGoToTheAdoptedInstanceWithTheSameKey) {
  LoopRecovery r;
  r.adopted.resize(2);
  r.adopted[0].container = "web";
  r.adopted[0].restart_count = 1;
  r.adopted[1].container = "side";
  std::vector<HeldPipe> held;
  std::vector<int> raw;
  using keeper::PipeKey;
  using keeper::Stream;
  for (auto key : {PipeKey{"web", 1, Stream::kStdout}, PipeKey{"web", 0, Stream::kStdout},
                   PipeKey{"side", 0, Stream::kStderr}, PipeKey{"gone", 0, Stream::kStdout}}) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    ::close(p[1]);
    raw.push_back(p[0]);
    held.push_back({key, UniqueFd(p[0])});
  }
  AttachHeldPipes(r, std::move(held));
  // Restart 0 of web is an older instance's pipe, "gone" no adopted container's: both closed.
  EXPECT_THAT(r.pipes, testing::ElementsAre(HandedPipe{"web", 1, LogStream::kStdout, raw[0], ""},
                                            HandedPipe{"side", 0, LogStream::kStderr, raw[2], ""}));
  EXPECT_EQ(::fcntl(raw[1], F_GETFD), -1);
  EXPECT_EQ(::fcntl(raw[3], F_GETFD), -1);
  for (HandedPipe& p : r.pipes) ::close(p.fd);
}

// An adopted process's exit, read from the file its keeper wrote: exact when the file names this
// pid and start time; nothing for another start time, no dir, or a damaged file.
TEST(AdoptedExitTest, ReadsTheKeepersExitFileOfThatInstanceOnly) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("orphan-exits-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const pid_t gone = 999'999'999;  // above pid_max: never a live process
  ASSERT_TRUE(sys::WriteFileAtomic(dir / keeper::OrphanExitName(gone, 42), "exit 7"));
  ASSERT_TRUE(sys::WriteFileAtomic(dir / keeper::OrphanExitName(gone, 43), "signal 9"));
  ASSERT_TRUE(sys::WriteFileAtomic(dir / keeper::OrphanExitName(gone, 44), "exit seven"));
  EXPECT_EQ(AdoptedExit(gone, 42, dir), ContainerExit::Code(7));
  EXPECT_EQ(AdoptedExit(gone, 43, dir), ContainerExit::Signalled(9));
  EXPECT_EQ(AdoptedExit(gone, 44, dir), std::nullopt);
  EXPECT_EQ(AdoptedExit(gone, 45, dir), std::nullopt);
  EXPECT_EQ(AdoptedExit(gone, 42, ""), std::nullopt);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace podshim::shim
