// The property --recover rests on: a Supervisor driven through a pod's life, with every input
// journaled at its clock reading, and a fresh Supervisor given the journal (ReplayJournal) end in
// the same state, with the same deadlines and the same events; and the same next input then
// makes both ask for the same actions. Checked after every prefix of each journal (the shim may
// die between any two inputs), for scenarios with init containers, sidecars, postStart and
// preStop hooks, back-off, a probe kill, a restart request, unknown exits and a stop request.
#include "shim/pod/journal_replay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "fixtures/fakes/fake_clock.h"
#include "shim/pod/input_clock.h"
#include "shim/pod/supervisor_input.h"
#include "unit/shim/pod/supervisor_fixture.h"

namespace podshim::shim {
namespace {

using namespace supervisor_test;  // NOLINT: the plan builders
using Kind = SupervisorInput::Kind;
using std::chrono::milliseconds;

ContainerPlan With(ContainerPlan c, bool startup, bool readiness, bool poststart, bool prestop) {
  c.has_startup_probe = startup;
  c.has_readiness_probe = readiness;
  c.has_poststart = poststart;
  c.has_prestop = prestop;
  return c;
}

// Everything a recovering shim reads from the supervisor, at one moment.
struct Observed {
  PodSnapshot snap;
  PodPhase phase = PodPhase::kPending;
  std::optional<Clock::TimePoint> deadline;
  std::vector<std::string> launching;
  std::vector<std::string> awaiting_poststart;
  bool terminating = false;
  bool finished = false;
  std::chrono::seconds termination_grace{0};
};

Observed Observe(const Supervisor& sup) {
  Observed o;
  o.snap = sup.Snapshot();
  o.phase = sup.Phase();
  o.deadline = sup.NextDeadline();
  o.launching = sup.Launching();
  o.awaiting_poststart = sup.AwaitingPostStart();
  o.terminating = sup.Terminating();
  o.finished = sup.Finished();
  if (o.terminating) o.termination_grace = sup.TerminationGrace();
  return o;
}

void ExpectSameState(const StateSnapshot& a, const StateSnapshot& b, const std::string& where) {
  EXPECT_EQ(a.kind, b.kind) << where;
  EXPECT_EQ(a.reason, b.reason) << where;
  EXPECT_EQ(a.message, b.message) << where;
  EXPECT_EQ(a.exit_code, b.exit_code) << where;
  EXPECT_EQ(a.signal, b.signal) << where;
  EXPECT_EQ(a.started_at, b.started_at) << where;
  EXPECT_EQ(a.finished_at, b.finished_at) << where;
}

void ExpectSame(const Observed& a, const Observed& b, const std::string& where) {
  EXPECT_EQ(a.snap.pod_name, b.snap.pod_name) << where;
  EXPECT_EQ(a.snap.phase, b.snap.phase) << where;
  EXPECT_EQ(a.snap.initialized, b.snap.initialized) << where;
  EXPECT_EQ(a.snap.ready, b.snap.ready) << where;
  EXPECT_EQ(a.snap.terminating, b.snap.terminating) << where;
  EXPECT_EQ(a.snap.finished, b.snap.finished) << where;
  ASSERT_EQ(a.snap.containers.size(), b.snap.containers.size()) << where;
  for (size_t i = 0; i < a.snap.containers.size(); ++i) {
    const ContainerSnapshot& x = a.snap.containers[i];
    const ContainerSnapshot& y = b.snap.containers[i];
    const std::string w = where + ", container " + x.name;
    EXPECT_EQ(x.name, y.name) << w;
    EXPECT_EQ(x.role, y.role) << w;
    ExpectSameState(x.state, y.state, w + " state");
    ASSERT_EQ(x.last_state.has_value(), y.last_state.has_value()) << w;
    if (x.last_state) ExpectSameState(*x.last_state, *y.last_state, w + " last_state");
    EXPECT_EQ(x.restart_count, y.restart_count) << w;
    EXPECT_EQ(x.started, y.started) << w;
    EXPECT_EQ(x.ready, y.ready) << w;
    EXPECT_EQ(x.pid, y.pid) << w;
  }
  EXPECT_EQ(a.phase, b.phase) << where;
  EXPECT_EQ(a.deadline, b.deadline) << where;
  EXPECT_EQ(a.launching, b.launching) << where;
  EXPECT_EQ(a.awaiting_poststart, b.awaiting_poststart) << where;
  EXPECT_EQ(a.terminating, b.terminating) << where;
  EXPECT_EQ(a.finished, b.finished) << where;
  EXPECT_EQ(a.termination_grace, b.termination_grace) << where;
}

void ExpectSameEvent(const PodEvent& a, const PodEvent& b, const std::string& where) {
  EXPECT_EQ(a.type, b.type) << where;
  EXPECT_EQ(a.time, b.time) << where << " " << a.type;
  EXPECT_EQ(a.container, b.container) << where << " " << a.type;
  EXPECT_EQ(a.role, b.role) << where << " " << a.type;
  EXPECT_EQ(a.fields, b.fields) << where << " " << a.type;
}

void ExpectSameEvents(const std::vector<PodEvent>& a, const std::vector<PodEvent>& b,
                      const std::string& where) {
  ASSERT_EQ(a.size(), b.size()) << where;
  for (size_t i = 0; i < a.size(); ++i) {
    ExpectSameEvent(a[i], b[i], where + ", event " + std::to_string(i));
  }
}

void ExpectSameActions(const std::vector<SupervisorAction>& a,
                       const std::vector<SupervisorAction>& b, const std::string& where) {
  std::vector<std::string> da, db;
  for (const auto& x : a) da.push_back(DescribeAction(x));
  for (const auto& x : b) db.push_back(DescribeAction(x));
  ASSERT_EQ(da, db) << where;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto* ea = std::get_if<EmitAction>(&a[i]);
    const auto* eb = std::get_if<EmitAction>(&b[i]);
    if (ea && eb) ExpectSameEvent(ea->event, eb->event, where + ", action " + da[i]);
    const auto* pa = std::get_if<StartPreStopAction>(&a[i]);
    const auto* pb = std::get_if<StartPreStopAction>(&b[i]);
    if (pa && pb) {
      EXPECT_EQ(pa->grace, pb->grace) << where << ", action " << da[i];
    }
    const auto* la = std::get_if<LaunchAction>(&a[i]);
    const auto* lb = std::get_if<LaunchAction>(&b[i]);
    if (la && lb) {
      EXPECT_EQ(la->restart_count, lb->restart_count) << where << ", " << da[i];
    }
  }
}

// One input as the original supervisor took it.
struct Step {
  Status status;
  std::vector<SupervisorAction> actions;
  Observed after;
  size_t events_after = 0;
};

// The original shim: a Supervisor reading an InputClock that takes the FakeClock's reading before
// each input, as EventLoop::Impl::Input does, and a journal of every input. It also plays the
// shim's part for the actions (which launches, hooks are outstanding).
class Recorder {
 public:
  Recorder(PodPlan plan, SupervisorOptions options = {}) : plan_(plan), options_(options) {
    auto s = Supervisor::Create(std::move(plan), clock_, options);
    if (s) sup_.emplace(std::move(*s));
  }
  bool ok() const { return sup_.has_value(); }

  Status Apply(SupervisorInput in) {
    clock_.SetFrom(fake_);
    journal_.push_back({clock_.Now(), clock_.WallNow(), in});
    Step step;
    step.status = ApplyInput(*sup_, in);
    step.actions = sup_->TakeActions();
    for (const SupervisorAction& a : step.actions) {
      if (const auto* e = std::get_if<EmitAction>(&a)) events_.push_back(e->event);
      if (const auto* l = std::get_if<LaunchAction>(&a)) launches_.push_back(l->container);
      if (const auto* p = std::get_if<StartPostStartAction>(&a))
        poststarts_.push_back(p->container);
      if (const auto* p = std::get_if<StartPreStopAction>(&a)) prestops_.push_back(p->container);
      if (const auto* s = std::get_if<SignalAction>(&a)) signalled_.push_back(s->container);
      if (const auto* k = std::get_if<KillContainerAction>(&a)) signalled_.push_back(k->container);
    }
    step.after = Observe(*sup_);
    step.events_after = events_.size();
    Status status = step.status;
    steps_.push_back(std::move(step));
    return status;
  }

  // The shim's answers, each one input.
  void Start(std::string digest = "sha256:feed") {
    SupervisorInput in = SupervisorInput::Of(Kind::kStart);
    in.message = std::move(digest);
    Ok(in);
  }
  // Reports the launches asked for as running (in the order asked, at most `max`, including
  // those the reports lead to), each 100 ms after the last.
  void RunLaunched(size_t max = SIZE_MAX) {
    for (size_t n = 0; n < max && !launches_.empty(); ++n) {
      const std::string name = launches_.front();
      launches_.pop_front();
      fake_.Advance(milliseconds(100));
      SupervisorInput in = SupervisorInput::Of(Kind::kStarted, name);
      in.pid = next_pid_++;
      in.start_ticks = 1000 + static_cast<uint64_t>(in.pid);
      in.leaf = "podshim/pod-demo/" + name + "-" + std::to_string(in.pid);
      Ok(in);
    }
  }
  void FailLaunch(std::string_view name, std::string message) {
    ASSERT_FALSE(launches_.empty());
    ASSERT_EQ(launches_.front(), name);
    launches_.pop_front();
    SupervisorInput in = SupervisorInput::Of(Kind::kStartFailed, name);
    in.message = std::move(message);
    Ok(in);
  }
  void PostStartsDone(bool success = true) {
    while (!poststarts_.empty()) {
      const std::string name = poststarts_.front();
      poststarts_.pop_front();
      Ok(SupervisorInput::WithFlag(Kind::kPostStartFinished, name, success));
    }
  }
  void PreStopDone(std::string_view name) {
    auto it = std::find(prestops_.begin(), prestops_.end(), name);
    ASSERT_NE(it, prestops_.end()) << "no preStop of " << name << " outstanding";
    prestops_.erase(it);
    Ok(SupervisorInput::Of(Kind::kPreStopFinished, name));
  }
  void Exit(std::string_view name, ContainerExit exit) { Ok(SupervisorInput::Exited(name, exit)); }
  void Flag(Kind kind, std::string_view name, bool flag) {
    Ok(SupervisorInput::WithFlag(kind, name, flag));
  }
  void Input(Kind kind, std::string_view name = {}) { Ok(SupervisorInput::Of(kind, name)); }
  void ProbeKill(std::string_view name, std::optional<seconds> grace) {
    SupervisorInput in = SupervisorInput::Of(Kind::kProbeKill, name);
    in.grace = grace;
    Ok(in);
  }
  void Stop(TerminationReason reason, std::optional<seconds> grace) {
    Ok(SupervisorInput::StopRequest(reason, grace));
  }
  // Lets time pass to the next deadline and fires it.
  void FireDeadline() {
    auto d = sup_->NextDeadline();
    ASSERT_TRUE(d.has_value()) << "no deadline armed";
    fake_.AdvanceTo(*d);
    Ok(SupervisorInput::Of(Kind::kDeadline));
  }
  void Advance(Clock::Duration d) { fake_.Advance(d); }

  Supervisor& sup() { return *sup_; }
  const std::vector<JournalEntry>& journal() const { return journal_; }
  const std::vector<Step>& steps() const { return steps_; }
  const std::vector<PodEvent>& events() const { return events_; }
  const PodPlan& plan() const { return plan_; }
  const SupervisorOptions& options() const { return options_; }
  FakeClock& fake() { return fake_; }
  std::vector<std::string> Actions(size_t step) const {
    std::vector<std::string> out;
    for (const auto& a : steps_[step].actions) out.push_back(DescribeAction(a));
    return out;
  }

 private:
  void Ok(const SupervisorInput& in) {
    Status s = Apply(in);
    ASSERT_TRUE(s) << SupervisorInputName(in.kind) << " " << in.container << ": "
                   << s.error().ToString();
  }

  PodPlan plan_;
  SupervisorOptions options_;
  FakeClock fake_;
  InputClock clock_;
  std::optional<Supervisor> sup_;
  std::vector<JournalEntry> journal_;
  std::vector<Step> steps_;
  std::vector<PodEvent> events_;
  std::deque<std::string> launches_, poststarts_, prestops_;
  std::vector<std::string> signalled_;
  pid_t next_pid_ = 2000;
};

// A shim that took over: a fresh supervisor over the same plan, on its own InputClock.
struct Replayed {
  InputClock clock;
  std::optional<Supervisor> sup;
  Result<ReplayOutcome> outcome = Error::Invalid("not replayed");
};

std::unique_ptr<Replayed> Replay(const Recorder& rec, size_t n) {
  auto r = std::make_unique<Replayed>();
  auto s = Supervisor::Create(rec.plan(), r->clock, rec.options());
  if (!s) return r;
  r->sup.emplace(std::move(*s));
  const std::vector<JournalEntry> prefix(rec.journal().begin(),
                                         rec.journal().begin() + static_cast<ptrdiff_t>(n));
  r->outcome = ReplayJournal(prefix, *r->sup, r->clock);
  return r;
}

// The recorded inputs and what the original supervisor answered, one line each.
std::string Script(const Recorder& rec) {
  std::string out;
  for (size_t i = 0; i < rec.journal().size(); ++i) {
    const SupervisorInput& in = rec.journal()[i].input;
    out += std::to_string(i) + " " + std::string(SupervisorInputName(in.kind)) + " " +
           in.container + (rec.steps()[i].status ? "" : " (refused)") + " ->";
    for (const auto& a : rec.steps()[i].actions) out += " | " + DescribeAction(a);
    out += "\n";
  }
  return out;
}

// The property, after every prefix of the recorded journal: the replayed supervisor is in the
// state the original was in after that many inputs, has its events, and answers the journal's
// next input with the actions the original answered it with (and then is in the same state).
void CheckEveryPrefix(const Recorder& rec) {
  const std::vector<JournalEntry>& journal = rec.journal();

  ASSERT_FALSE(journal.empty());
  for (size_t n = 1; n <= journal.size(); ++n) {
    const std::string where = "after " + std::to_string(n) + " of " +
                              std::to_string(journal.size()) + " inputs (last " +
                              std::string(SupervisorInputName(journal[n - 1].input.kind)) + " " +
                              journal[n - 1].input.container + ")";
    auto r = Replay(rec, n);
    ASSERT_TRUE(r->sup.has_value()) << where;
    ASSERT_TRUE(r->outcome) << where << ": " << r->outcome.error().ToString();
    const ReplayOutcome& out = *r->outcome;
    EXPECT_EQ(out.inputs, n) << where;
    EXPECT_EQ(out.last_now, journal[n - 1].now) << where;
    EXPECT_EQ(r->clock.Now(), journal[n - 1].now) << where;
    EXPECT_EQ(r->clock.WallNow(), journal[n - 1].wall) << where;
    const Step& step = rec.steps()[n - 1];
    ExpectSame(Observe(*r->sup), step.after, where);
    const std::vector<PodEvent> want(
        rec.events().begin(), rec.events().begin() + static_cast<ptrdiff_t>(step.events_after));
    ExpectSameEvents(out.events, want, where);
    // The latest Started of each container, as the journal holds it.
    std::map<std::string, const SupervisorInput*> latest;
    std::map<std::string, WallTime> latest_wall;
    for (size_t i = 0; i < n; ++i) {
      if (journal[i].input.kind == Kind::kStarted) {
        latest[journal[i].input.container] = &journal[i].input;
        latest_wall[journal[i].input.container] = journal[i].wall;
      }
    }
    ASSERT_EQ(out.starts.size(), latest.size()) << where;
    for (const auto& [name, in] : latest) {
      auto it = out.starts.find(name);
      ASSERT_NE(it, out.starts.end()) << where << " " << name;
      EXPECT_EQ(it->second.pid, in->pid) << where << " " << name;
      EXPECT_EQ(it->second.start_ticks, in->start_ticks) << where << " " << name;
      EXPECT_EQ(it->second.leaf, in->leaf) << where << " " << name;
      EXPECT_EQ(it->second.wall, latest_wall[name]) << where << " " << name;
    }
    // The same next input, at the same reading, to the replayed supervisor.
    if (n < journal.size()) {
      const JournalEntry& next = journal[n];
      r->clock.Set(next.now, next.wall);
      Status status = ApplyInput(*r->sup, next.input);
      const std::string w = where + ", then " + std::string(SupervisorInputName(next.input.kind)) +
                            " " + next.input.container;
      EXPECT_EQ(status.has_value(), rec.steps()[n].status.has_value()) << w;
      ExpectSameActions(r->sup->TakeActions(), rec.steps()[n].actions, w);
      ExpectSame(Observe(*r->sup), rec.steps()[n].after, w);
    }
    if (::testing::Test::HasFailure()) {  // the first prefix that differs is enough
      ADD_FAILURE() << "the recorded script:\n" << Script(rec);
      return;
    }
  }
}

// Init container, a sidecar with readiness and preStop, an app with startup probe, postStart and
// preStop, a plain app: the pod starts, one app crashes into back-off (twice, the second time
// OOM-killed), an early deadline, a probe kill with preStop, a restart request of the sidecar,
// then a SIGTERM stop mid-way with preStop hooks and the grace deadline's SIGKILL.
TEST(JournalReplay, FullLifeWithBackOffProbeKillRestartAndStop) {
  Recorder rec(Pod(PodRestartPolicy::kAlways,
                   {Init("setup"), With(Sidecar("proxy"), false, true, false, true),
                    With(App("web"), true, true, true, true), App("worker")},
                   seconds(20)));
  ASSERT_TRUE(rec.ok());
  rec.Start();
  EXPECT_THAT(rec.Actions(0), ::testing::Contains("Launch setup #0"));
  rec.RunLaunched();
  rec.Advance(seconds(2));
  rec.Exit("setup", ContainerExit::Code(0));
  rec.RunLaunched();  // proxy, which lets the apps go
  rec.Flag(Kind::kReadinessChanged, "proxy", true);
  rec.RunLaunched();  // web; worker waits for web's postStart
  rec.Advance(milliseconds(700));
  rec.PostStartsDone();
  rec.RunLaunched();  // worker
  rec.Advance(seconds(3));
  rec.Input(Kind::kStartupSucceeded, "web");
  rec.Flag(Kind::kReadinessChanged, "web", true);
  EXPECT_EQ(rec.sup().Phase(), PodPhase::kRunning);
  EXPECT_TRUE(rec.sup().Snapshot().ready);

  // worker crashes: back-off, then an early (harmless) deadline, then the real one.
  rec.Advance(seconds(5));
  rec.Exit("worker", ContainerExit::Code(1));
  ASSERT_TRUE(rec.sup().NextDeadline().has_value());
  rec.Advance(seconds(3));
  rec.Input(Kind::kDeadline);
  rec.FireDeadline();
  rec.RunLaunched();
  rec.Advance(seconds(1));
  ContainerExit oom = ContainerExit::Signalled(SIGKILL);
  oom.oom = true;
  rec.Exit("worker", oom);  // back-off doubles
  // A stale probe result while it waits: ignored, but journaled and replayed.
  rec.Flag(Kind::kReadinessChanged, "worker", true);

  // web's liveness probe fails: preStop, then its stop signal, then it exits.
  rec.Advance(seconds(2));
  rec.ProbeKill("web", seconds(5));
  rec.Advance(seconds(1));
  rec.PreStopDone("web");
  rec.Advance(milliseconds(300));
  rec.Exit("web", ContainerExit::Signalled(SIGTERM));
  rec.FireDeadline();  // whichever restart is due first
  rec.RunLaunched();
  rec.PostStartsDone();
  rec.RunLaunched();

  // ctl restart proxy: its preStop, SIGTERM, exit, launched again at once.
  rec.Advance(seconds(4));
  rec.Input(Kind::kRestartRequest, "proxy");
  rec.PreStopDone("proxy");
  rec.Exit("proxy", ContainerExit::Code(0));
  rec.RunLaunched();

  // SIGTERM to the shim: preStop hooks, then signals; web's hook hangs past the grace.
  rec.Advance(seconds(2));
  rec.Stop(TerminationReason::kSignal, std::nullopt);
  EXPECT_TRUE(rec.sup().Terminating());
  rec.Advance(seconds(1));
  rec.PreStopDone("web");  // web's hook returns; proxy's hangs until its time limit
  rec.Advance(milliseconds(200));
  rec.Exit("web", ContainerExit::Signalled(SIGTERM));
  rec.FireDeadline();  // proxy's preStop ran out of time: its stop signal
  ASSERT_TRUE(rec.sup().NextDeadline().has_value());
  rec.FireDeadline();  // SIGKILL
  for (int i = 0; i < 5 && !rec.sup().Finished(); ++i) {
    const PodSnapshot snap = rec.sup().Snapshot();
    for (const ContainerSnapshot& c : snap.containers) {
      if (c.state.kind == StateSnapshot::Kind::kRunning) {
        rec.Advance(milliseconds(50));
        rec.Exit(c.name, ContainerExit::Signalled(SIGKILL));
      }
    }
    if (!rec.sup().Finished() && rec.sup().NextDeadline()) rec.FireDeadline();
  }
  EXPECT_TRUE(rec.sup().Finished());
  ASSERT_FALSE(::testing::Test::HasFailure()) << "the scenario itself went wrong";
  EXPECT_GT(rec.journal().size(), 20u);
  CheckEveryPrefix(rec);
}

// Under Never: a failed launch, an init container, an exit nobody saw (a recovery before this
// one found the process gone), a probe kill of the last app ending the pod, and a second stop
// request with grace 0 killing everything now.
TEST(JournalReplay, NeverPolicyWithStartFailureUnknownExitAndKillNow) {
  Recorder rec(Pod(PodRestartPolicy::kNever,
                   {Init("setup"), With(Sidecar("log"), false, false, false, true),
                    With(App("a"), false, false, false, true), App("b"), App("c")},
                   seconds(30)));
  ASSERT_TRUE(rec.ok());
  rec.Start();
  rec.RunLaunched();
  rec.Exit("setup", ContainerExit::Code(0));
  rec.RunLaunched(1);  // log, which lets a, b and c go
  rec.Advance(seconds(1));
  rec.FailLaunch("a", "exec: \"/app\": permission denied");
  rec.RunLaunched();
  rec.Advance(seconds(10));
  rec.Exit("b", ContainerExit::Unknown());
  rec.Advance(seconds(1));
  rec.ProbeKill("c", std::nullopt);
  rec.Advance(seconds(1));
  rec.Stop(TerminationReason::kRequest, seconds(0));
  rec.Advance(milliseconds(10));
  for (const ContainerSnapshot& c : rec.sup().Snapshot().containers) {
    if (c.state.kind == StateSnapshot::Kind::kRunning) {
      rec.Exit(c.name, ContainerExit::Signalled(SIGKILL));
    }
  }
  while (!rec.sup().Finished() && rec.sup().NextDeadline()) rec.FireDeadline();
  EXPECT_TRUE(rec.sup().Finished());
  ASSERT_FALSE(::testing::Test::HasFailure()) << "the scenario itself went wrong";
  CheckEveryPrefix(rec);
}

// A stop request while one container is still being launched and another waits in back-off,
// the second SIGTERM (grace 0) while terminating, and the shim's answers arriving late.
TEST(JournalReplay, StopWhileLaunchingAndInBackOff) {
  Recorder rec(Pod(PodRestartPolicy::kAlways,
                   {With(Sidecar("side"), true, false, false, false), App("x"), App("y")},
                   seconds(10)));
  ASSERT_TRUE(rec.ok());
  rec.Start();
  rec.RunLaunched();
  rec.Input(Kind::kStartupSucceeded, "side");
  rec.RunLaunched();
  rec.Exit("x", ContainerExit::Code(2));
  rec.FireDeadline();  // x relaunched; its start not reported yet
  rec.Exit("y", ContainerExit::Code(1));
  EXPECT_THAT(rec.sup().Launching(), ::testing::ElementsAre("x"));
  rec.Stop(TerminationReason::kSignal, std::nullopt);
  rec.RunLaunched();  // x's start arrives after the stop
  rec.Advance(seconds(2));
  rec.Stop(TerminationReason::kSignal, seconds(0));
  for (const ContainerSnapshot& c : rec.sup().Snapshot().containers) {
    if (c.state.kind == StateSnapshot::Kind::kRunning) {
      rec.Exit(c.name, ContainerExit::Signalled(SIGKILL));
    }
  }
  while (!rec.sup().Finished() && rec.sup().NextDeadline()) rec.FireDeadline();
  EXPECT_TRUE(rec.sup().Finished());
  ASSERT_FALSE(::testing::Test::HasFailure()) << "the scenario itself went wrong";
  CheckEveryPrefix(rec);
}

TEST(JournalReplay, EmptyJournalLeavesTheSupervisorFresh) {
  InputClock clock;
  auto sup = Supervisor::Create(Pod(PodRestartPolicy::kAlways, {App("a")}), clock);
  ASSERT_TRUE(sup);
  InputClock fresh_clock;
  auto fresh = Supervisor::Create(Pod(PodRestartPolicy::kAlways, {App("a")}), fresh_clock);
  ASSERT_TRUE(fresh);
  auto out = ReplayJournal({}, *sup, clock);
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->inputs, 0u);
  EXPECT_TRUE(out->events.empty());
  EXPECT_TRUE(out->starts.empty());
  EXPECT_TRUE(sup->TakeActions().empty());
  ExpectSame(Observe(*sup), Observe(*fresh), "empty journal");
  // Still fresh: it can be started.
  EXPECT_TRUE(sup->Start());
}

TEST(JournalReplay, JournalNotBeginningWithStartIsRefused) {
  Recorder rec(Pod(PodRestartPolicy::kAlways, {App("a")}));
  ASSERT_TRUE(rec.ok());
  rec.Start();
  rec.RunLaunched();
  rec.Exit("a", ContainerExit::Code(1));
  std::vector<JournalEntry> tail(rec.journal().begin() + 1, rec.journal().end());
  InputClock clock;
  auto sup = Supervisor::Create(rec.plan(), clock);
  ASSERT_TRUE(sup);
  auto out = ReplayJournal(tail, *sup, clock);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_THAT(out.error().ToString(), ::testing::HasSubstr("start"));
  // Nothing was applied.
  EXPECT_TRUE(sup->TakeActions().empty());
  EXPECT_EQ(sup->Phase(), PodPhase::kPending);
  EXPECT_TRUE(sup->Start());
}

// An input the supervisor refused (an exit of a container that does not run, a restart request
// of an init container, an unknown container) is journaled like any other; the replay refuses it
// again, with the same (absent) effect, and goes on.
TEST(JournalReplay, RefusedInputsReplayAsRefused) {
  Recorder rec(Pod(PodRestartPolicy::kAlways, {Init("setup"), App("a"), App("b")}));
  ASSERT_TRUE(rec.ok());
  rec.Start();
  const std::vector<SupervisorInput> refused = {
      SupervisorInput::Exited("a", ContainerExit::Code(0)),  // not launched yet
      SupervisorInput::Exited("nosuch", ContainerExit::Code(0)),
      SupervisorInput::Of(Kind::kRestartRequest, "setup"),
      SupervisorInput::Of(Kind::kStart),  // twice
  };
  for (const SupervisorInput& in : refused) {
    Status s = rec.Apply(in);
    EXPECT_FALSE(s) << SupervisorInputName(in.kind) << " " << in.container;
    EXPECT_TRUE(rec.steps().back().actions.empty());
  }
  rec.RunLaunched();
  rec.Exit("setup", ContainerExit::Code(0));
  rec.RunLaunched();
  rec.Advance(seconds(1));
  Status late = rec.Apply(SupervisorInput::Exited("setup", ContainerExit::Code(0)));  // again
  EXPECT_FALSE(late);
  rec.Exit("a", ContainerExit::Code(3));
  ASSERT_FALSE(::testing::Test::HasFailure());
  CheckEveryPrefix(rec);
  // The replayed supervisor refuses them again too.
  auto r = Replay(rec, rec.journal().size());
  ASSERT_TRUE(r->outcome);
  EXPECT_FALSE(ApplyInput(*r->sup, SupervisorInput::Exited("nosuch", ContainerExit::Code(0))));
  EXPECT_FALSE(ApplyInput(*r->sup, SupervisorInput::Of(Kind::kStart)));
}

// OnFailure with a sidecar whose postStart holds the app back: the job completes.
TEST(JournalReplay, OnFailureJobWithAPostStartSidecarCompletes) {
  Recorder rec(Pod(PodRestartPolicy::kOnFailure,
                   {With(Sidecar("s"), false, true, true, false), App("a")}, seconds(5)));
  ASSERT_TRUE(rec.ok());
  rec.Start();
  rec.RunLaunched();
  rec.PostStartsDone();
  rec.RunLaunched();
  rec.Exit("a", ContainerExit::Code(1));
  rec.FireDeadline();
  rec.RunLaunched();
  rec.Exit("a", ContainerExit::Code(0));
  while (!rec.sup().Finished() && rec.sup().NextDeadline()) {
    for (const ContainerSnapshot& c : rec.sup().Snapshot().containers) {
      if (c.state.kind == StateSnapshot::Kind::kRunning) rec.Exit(c.name, ContainerExit::Code(0));
    }
    if (!rec.sup().Finished() && rec.sup().NextDeadline()) rec.FireDeadline();
  }
  for (const ContainerSnapshot& c : rec.sup().Snapshot().containers) {
    if (c.state.kind == StateSnapshot::Kind::kRunning) rec.Exit(c.name, ContainerExit::Code(0));
  }
  EXPECT_TRUE(rec.sup().Finished());
  ASSERT_FALSE(::testing::Test::HasFailure());
  CheckEveryPrefix(rec);
}

}  // namespace
}  // namespace podshim::shim
