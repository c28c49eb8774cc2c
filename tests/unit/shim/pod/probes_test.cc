#include "shim/pod/probes.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <vector>

#include "fixtures/fakes/fake_clock.h"

namespace podshim::shim {
namespace {

using namespace std::chrono_literals;
using K = ProbeTransitionKind;

Probe MakeProbe(std::chrono::seconds period = 10s, int failure = 3, int success = 1,
                std::chrono::seconds delay = 0s) {
  Probe p;
  TcpSocketAction tcp;
  tcp.port = 8080;
  p.handler = tcp;
  p.period = period;
  p.failure_threshold = failure;
  p.success_threshold = success;
  p.initial_delay = delay;
  return p;
}

std::vector<K> Kinds(const std::vector<ProbeTransition>& ts) {
  std::vector<K> out;
  for (const auto& t : ts) out.push_back(t.kind);
  return out;
}

// Runs the probes due now, answering each of kind `kind` with `success`; other kinds are answered
// with success. Returns the transitions of all results.
std::vector<ProbeTransition> RunDue(ProbeSet& set, const FakeClock& clock, ProbeKind kind,
                                    bool success, std::vector<ProbeKind>* ran = nullptr) {
  std::vector<ProbeTransition> out;
  for (const ProbeRun& r : set.DueProbes(clock.Now())) {
    if (ran) ran->push_back(r.kind);
    bool ok = r.kind == kind ? success : true;
    auto ts = set.OnProbeResult(r.kind, r.run_id, ok, ok ? "" : "connection refused");
    out.insert(out.end(), ts.begin(), ts.end());
  }
  return out;
}

TEST(ProbeSetTest, InitialResults) {
  FakeClock clock;
  ProbeSet set(clock, MakeProbe(), MakeProbe(), MakeProbe());
  EXPECT_EQ(set.result(ProbeKind::kStartup), ProbeResult::kUnknown);
  EXPECT_EQ(set.result(ProbeKind::kReadiness), ProbeResult::kFailure);
  EXPECT_EQ(set.result(ProbeKind::kLiveness), ProbeResult::kSuccess);
  EXPECT_FALSE(set.started());
  EXPECT_FALSE(set.ready());
  EXPECT_EQ(set.NextDeadline(), std::nullopt);  // nothing runs before the container does
}

TEST(ProbeSetTest, NoProbesMeansStartedAndReadyAtOnce) {
  FakeClock clock;
  ProbeSet set(clock, std::nullopt, std::nullopt, std::nullopt);
  EXPECT_EQ(Kinds(set.OnContainerStarted()), (std::vector<K>{K::kStarted, K::kReady}));
  EXPECT_TRUE(set.ready());
  EXPECT_EQ(set.NextDeadline(), std::nullopt);
  EXPECT_EQ(Kinds(set.OnContainerExited()), (std::vector<K>{K::kNotReady}));
  EXPECT_FALSE(set.started());
}

TEST(ProbeSetTest, InitialDelayThenPeriod) {
  FakeClock clock;
  ProbeSet set(clock, std::nullopt, std::nullopt, MakeProbe(10s, 3, 1, 5s));
  auto t0 = clock.Now();
  set.OnContainerStarted();
  EXPECT_EQ(set.NextDeadline(), t0 + 5s);
  clock.Advance(4s);
  EXPECT_TRUE(set.DueProbes(clock.Now()).empty());
  clock.Advance(1s);
  auto runs = set.DueProbes(clock.Now());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].kind, ProbeKind::kLiveness);
  EXPECT_EQ(set.NextDeadline(), std::nullopt);  // in flight: its result is the next event
  EXPECT_TRUE(set.OnProbeResult(runs[0].kind, runs[0].run_id, true, "").empty());
  EXPECT_EQ(set.NextDeadline(), t0 + 15s);
}

TEST(ProbeSetTest, FailureThresholdCountsConsecutiveFailures) {
  FakeClock clock;
  Probe p = MakeProbe(1s, 3);
  p.termination_grace_period = 7s;
  ProbeSet set(clock, std::nullopt, std::nullopt, p);
  set.OnContainerStarted();
  EXPECT_EQ(Kinds(RunDue(set, clock, ProbeKind::kLiveness, false)),
            (std::vector<K>{K::kProbeFailed}));
  clock.Advance(1s);
  EXPECT_EQ(Kinds(RunDue(set, clock, ProbeKind::kLiveness, false)),
            (std::vector<K>{K::kProbeFailed}));
  clock.Advance(1s);  // a success resets the run
  EXPECT_TRUE(RunDue(set, clock, ProbeKind::kLiveness, true).empty());
  for (int i = 0; i < 2; ++i) {
    clock.Advance(1s);
    EXPECT_EQ(Kinds(RunDue(set, clock, ProbeKind::kLiveness, false)),
              (std::vector<K>{K::kProbeFailed}));
  }
  clock.Advance(1s);
  auto ts = RunDue(set, clock, ProbeKind::kLiveness, false);
  ASSERT_EQ(Kinds(ts), (std::vector<K>{K::kProbeFailed, K::kLivenessFailed}));
  EXPECT_EQ(ts[0].message, "connection refused");
  EXPECT_EQ(ts[1].probe, ProbeKind::kLiveness);
  EXPECT_EQ(ts[1].grace, std::optional(7s));
  EXPECT_EQ(ts[1].message, "connection refused");
  EXPECT_EQ(set.result(ProbeKind::kLiveness), ProbeResult::kFailure);
}

TEST(ProbeSetTest, LivenessFailureWithoutProbeGraceUsesPodGrace) {
  FakeClock clock;
  ProbeSet set(clock, std::nullopt, std::nullopt, MakeProbe(1s, 1));
  set.OnContainerStarted();
  auto ts = RunDue(set, clock, ProbeKind::kLiveness, false);
  ASSERT_EQ(Kinds(ts), (std::vector<K>{K::kProbeFailed, K::kLivenessFailed}));
  EXPECT_EQ(ts[1].grace, std::nullopt);
}

TEST(ProbeSetTest, LivenessOnHoldUntilNewContainerInstance) {
  FakeClock clock;
  ProbeSet set(clock, std::nullopt, std::nullopt, MakeProbe(1s, 1));
  set.OnContainerStarted();
  RunDue(set, clock, ProbeKind::kLiveness, false);
  EXPECT_TRUE(set.on_hold(ProbeKind::kLiveness));
  EXPECT_EQ(set.NextDeadline(), std::nullopt);
  clock.Advance(10s);
  EXPECT_TRUE(set.DueProbes(clock.Now()).empty());
  // The container is killed and restarted: a new instance probes again from a fresh count.
  set.OnContainerExited();
  set.OnContainerStarted();
  EXPECT_FALSE(set.on_hold(ProbeKind::kLiveness));
  EXPECT_EQ(set.result(ProbeKind::kLiveness), ProbeResult::kSuccess);
  EXPECT_EQ(set.NextDeadline(), clock.Now());
  std::vector<ProbeKind> ran;
  RunDue(set, clock, ProbeKind::kLiveness, true, &ran);
  EXPECT_EQ(ran, (std::vector<ProbeKind>{ProbeKind::kLiveness}));
}

TEST(ProbeSetTest, ReadinessFlipsBothWaysWithThresholds) {
  FakeClock clock;
  ProbeSet set(clock, std::nullopt, MakeProbe(1s, 2, 2), std::nullopt);
  EXPECT_EQ(Kinds(set.OnContainerStarted()), (std::vector<K>{K::kStarted}));
  EXPECT_TRUE(RunDue(set, clock, ProbeKind::kReadiness, true).empty());  // 1 of 2 successes
  EXPECT_FALSE(set.ready());
  clock.Advance(1s);
  EXPECT_EQ(Kinds(RunDue(set, clock, ProbeKind::kReadiness, true)), (std::vector<K>{K::kReady}));
  EXPECT_TRUE(set.ready());
  clock.Advance(1s);
  EXPECT_EQ(Kinds(RunDue(set, clock, ProbeKind::kReadiness, false)),
            (std::vector<K>{K::kProbeFailed}));
  EXPECT_TRUE(set.ready());
  clock.Advance(1s);
  EXPECT_EQ(Kinds(RunDue(set, clock, ProbeKind::kReadiness, false)),
            (std::vector<K>{K::kProbeFailed, K::kNotReady}));
  EXPECT_FALSE(set.ready());
  EXPECT_FALSE(set.on_hold(ProbeKind::kReadiness));  // readiness never holds
  clock.Advance(1s);
  RunDue(set, clock, ProbeKind::kReadiness, true);
  clock.Advance(1s);
  EXPECT_EQ(Kinds(RunDue(set, clock, ProbeKind::kReadiness, true)), (std::vector<K>{K::kReady}));
}

TEST(ProbeSetTest, StartupGatesReadinessAndLiveness) {
  FakeClock clock;
  ProbeSet set(clock, MakeProbe(1s, 5), MakeProbe(3s, 3, 1, 2s), MakeProbe(3s));
  auto t0 = clock.Now();
  EXPECT_TRUE(set.OnContainerStarted().empty());
  for (int i = 0; i < 4; ++i) {
    std::vector<ProbeKind> ran;
    RunDue(set, clock, ProbeKind::kStartup, false, &ran);
    EXPECT_EQ(ran, (std::vector<ProbeKind>{ProbeKind::kStartup})) << "tick " << i;
    clock.Advance(1s);
  }
  EXPECT_FALSE(set.started());
  std::vector<ProbeKind> ran;
  auto ts = RunDue(set, clock, ProbeKind::kStartup, true, &ran);
  EXPECT_EQ(ran, (std::vector<ProbeKind>{ProbeKind::kStartup}));
  EXPECT_EQ(Kinds(ts), (std::vector<K>{K::kStarted}));
  EXPECT_TRUE(set.started());
  EXPECT_FALSE(set.ready());
  // Startup stops; readiness's initial delay (2 s) has passed, so both run now.
  ran.clear();
  ts = RunDue(set, clock, ProbeKind::kReadiness, true, &ran);
  EXPECT_EQ(ran, (std::vector<ProbeKind>{ProbeKind::kReadiness, ProbeKind::kLiveness}));
  EXPECT_EQ(Kinds(ts), (std::vector<K>{K::kReady}));
  EXPECT_EQ(set.NextDeadline(), t0 + 4s + 3s);
  clock.Advance(3s);
  ran.clear();
  RunDue(set, clock, ProbeKind::kReadiness, true, &ran);
  EXPECT_EQ(ran, (std::vector<ProbeKind>{ProbeKind::kReadiness, ProbeKind::kLiveness}));
}

TEST(ProbeSetTest, ReadinessAfterStartupWaitsForItsOwnInitialDelay) {
  FakeClock clock;
  ProbeSet set(clock, MakeProbe(1s), MakeProbe(10s, 3, 1, 30s), std::nullopt);
  auto t0 = clock.Now();
  set.OnContainerStarted();
  RunDue(set, clock, ProbeKind::kStartup, true);
  EXPECT_TRUE(set.started());
  EXPECT_EQ(set.NextDeadline(), t0 + 30s);
}

TEST(ProbeSetTest, StartupFailureKillsWithProbeGraceAndHolds) {
  FakeClock clock;
  Probe startup = MakeProbe(1s, 2);
  startup.termination_grace_period = 3s;
  ProbeSet set(clock, startup, MakeProbe(1s), MakeProbe(1s));
  set.OnContainerStarted();
  std::vector<ProbeKind> ran;
  RunDue(set, clock, ProbeKind::kStartup, false, &ran);
  clock.Advance(1s);
  auto ts = RunDue(set, clock, ProbeKind::kStartup, false, &ran);
  EXPECT_EQ(ran, (std::vector<ProbeKind>{ProbeKind::kStartup, ProbeKind::kStartup}));
  ASSERT_EQ(Kinds(ts), (std::vector<K>{K::kProbeFailed, K::kStartupFailed}));
  EXPECT_EQ(ts[1].grace, std::optional(3s));
  EXPECT_TRUE(set.on_hold(ProbeKind::kStartup));
  EXPECT_FALSE(set.started());
  clock.Advance(5s);
  EXPECT_TRUE(set.DueProbes(clock.Now()).empty());
  EXPECT_EQ(set.NextDeadline(), std::nullopt);
  // Restarted: the startup probe runs again from scratch.
  set.OnContainerExited();
  set.OnContainerStarted();
  EXPECT_EQ(set.result(ProbeKind::kStartup), ProbeResult::kUnknown);
  ran.clear();
  RunDue(set, clock, ProbeKind::kStartup, true, &ran);
  EXPECT_EQ(ran, (std::vector<ProbeKind>{ProbeKind::kStartup}));
  EXPECT_TRUE(set.started());
}

TEST(ProbeSetTest, NoOverlappingRunsOfTheSameKind) {
  FakeClock clock;
  Probe slow = MakeProbe(1s);
  slow.timeout = 5s;  // longer than the period
  ProbeSet set(clock, std::nullopt, slow, std::nullopt);
  auto t0 = clock.Now();
  set.OnContainerStarted();
  auto runs = set.DueProbes(clock.Now());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(set.in_flight(ProbeKind::kReadiness));
  for (int i = 0; i < 4; ++i) {
    clock.Advance(1s);
    EXPECT_TRUE(set.DueProbes(clock.Now()).empty()) << "second " << i + 1;
  }
  clock.Advance(500ms);  // t0 + 4.5 s: the result arrives; the missed ticks collapse into one run
  EXPECT_EQ(Kinds(set.OnProbeResult(ProbeKind::kReadiness, runs[0].run_id, true, "")),
            (std::vector<K>{K::kReady}));
  EXPECT_EQ(set.NextDeadline(), t0 + 1s);
  auto again = set.DueProbes(clock.Now());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].run_id, runs[0].run_id);
  EXPECT_TRUE(set.OnProbeResult(ProbeKind::kReadiness, again[0].run_id, true, "").empty());
  EXPECT_EQ(set.NextDeadline(), t0 + 5s);  // back on the ticker
}

TEST(ProbeSetTest, StaleResultsAreIgnored) {
  FakeClock clock;
  ProbeSet set(clock, std::nullopt, MakeProbe(1s, 1), std::nullopt);
  set.OnContainerStarted();
  auto runs = set.DueProbes(clock.Now());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(set.OnProbeResult(ProbeKind::kReadiness, runs[0].run_id + 100, true, "").empty());
  set.OnContainerExited();
  set.OnContainerStarted();
  // The result of the old instance's run arrives after the restart.
  EXPECT_TRUE(set.OnProbeResult(ProbeKind::kReadiness, runs[0].run_id, true, "").empty());
  EXPECT_FALSE(set.ready());
  // An answer for a kind that was never started is stale too.
  EXPECT_TRUE(set.OnProbeResult(ProbeKind::kLiveness, 1, false, "x").empty());
}

TEST(ProbeSetTest, DuringTerminationReadinessRunsLivenessAndStartupStop) {
  FakeClock clock;
  ProbeSet set(clock, std::nullopt, MakeProbe(1s, 1), MakeProbe(1s, 1));
  set.OnContainerStarted();
  auto runs = set.DueProbes(clock.Now());
  ASSERT_EQ(runs.size(), 2u);
  set.OnTerminationStarted();
  // The liveness run in flight when termination began does not count any more.
  for (const auto& r : runs) {
    auto ts = set.OnProbeResult(r.kind, r.run_id, r.kind == ProbeKind::kReadiness, "refused");
    if (r.kind == ProbeKind::kReadiness) {
      EXPECT_EQ(Kinds(ts), (std::vector<K>{K::kReady}));
    } else {
      EXPECT_TRUE(ts.empty());
    }
  }
  EXPECT_EQ(set.result(ProbeKind::kLiveness), ProbeResult::kSuccess);
  for (int i = 0; i < 3; ++i) {
    clock.Advance(1s);
    std::vector<ProbeKind> ran;
    auto ts = RunDue(set, clock, ProbeKind::kLiveness, false, &ran);
    EXPECT_EQ(ran, (std::vector<ProbeKind>{ProbeKind::kReadiness}));
  }
  clock.Advance(1s);
  EXPECT_EQ(Kinds(RunDue(set, clock, ProbeKind::kReadiness, false)),
            (std::vector<K>{K::kProbeFailed, K::kNotReady}));
}

TEST(ProbeSetTest, TerminationStopsAPendingStartupProbe) {
  FakeClock clock;
  ProbeSet set(clock, MakeProbe(1s), MakeProbe(1s), std::nullopt);
  set.OnContainerStarted();
  set.OnTerminationStarted();
  clock.Advance(5s);
  EXPECT_TRUE(set.DueProbes(clock.Now()).empty());
  EXPECT_EQ(set.NextDeadline(), std::nullopt);
  EXPECT_FALSE(set.started());  // an unstarted sidecar does not delay the termination order
}

TEST(ProbeSetTest, ExitStopsEverything) {
  FakeClock clock;
  ProbeSet set(clock, std::nullopt, MakeProbe(1s, 1), MakeProbe(1s));
  set.OnContainerStarted();
  RunDue(set, clock, ProbeKind::kReadiness, true);
  EXPECT_TRUE(set.ready());
  EXPECT_EQ(Kinds(set.OnContainerExited()), (std::vector<K>{K::kNotReady}));
  EXPECT_EQ(set.NextDeadline(), std::nullopt);
  clock.Advance(10s);
  EXPECT_TRUE(set.DueProbes(clock.Now()).empty());
}

TEST(ProbeSetTest, ForContainerTakesTheContainersProbes) {
  FakeClock clock;
  Container c;
  c.name = "web";
  c.readiness_probe = MakeProbe();
  ProbeSet set = ProbeSet::ForContainer(clock, c);
  EXPECT_FALSE(set.has_probe(ProbeKind::kStartup));
  EXPECT_TRUE(set.has_probe(ProbeKind::kReadiness));
  EXPECT_FALSE(set.has_probe(ProbeKind::kLiveness));
}

}  // namespace
}  // namespace podshim::shim
