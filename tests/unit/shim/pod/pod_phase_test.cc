// The pod phase as the kubelet computes it (SEMANTICS 6.4): ComputePodPhase on container
// snapshots, and the phase a supervised pod walks through. Pure.
#include "shim/pod/pod_phase.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "fixtures/fakes/fake_clock.h"
#include "shim/pod/supervisor.h"
#include "unit/shim/pod/supervisor_fixture.h"

namespace podshim::shim {
namespace {

using namespace supervisor_test;  // NOLINT: the fixture and its plan builders

// --- Pod phase (SEMANTICS 6.4) ---

TEST_F(SupervisorTest, PhaseWalksPendingRunningFailed) {
  Make(Pod(PodRestartPolicy::kNever, {Init("init"), App("a1"), App("a2")}));
  EXPECT_EQ(sup().Phase(), PodPhase::kPending);
  Start();
  Running("init");
  EXPECT_EQ(sup().Phase(), PodPhase::kPending);
  Exit("init", 0);
  Running("a1");
  EXPECT_EQ(sup().Phase(), PodPhase::kPending);  // a2 still being created
  Running("a2");
  EXPECT_EQ(sup().Phase(), PodPhase::kRunning);
  Exit("a1", 1);
  EXPECT_EQ(sup().Phase(), PodPhase::kRunning);  // a2 still runs
  Exit("a2", 0);
  EXPECT_EQ(sup().Phase(), PodPhase::kFailed);
  EXPECT_EQ(PodPhaseName(sup().Phase()), "Failed");
}

TEST(PodPhaseTest, AlwaysPodWithEveryAppExitedIsRunning) {
  const std::vector<ContainerSnapshot> v = {
      Snap("app", Role::kApp, StateSnapshot::Kind::kTerminated, 0)};
  EXPECT_EQ(ComputePodPhase(PodRestartPolicy::kAlways, v, false), PodPhase::kRunning);
  EXPECT_EQ(ComputePodPhase(PodRestartPolicy::kOnFailure, v, false), PodPhase::kSucceeded);
  EXPECT_EQ(ComputePodPhase(PodRestartPolicy::kAlways, v, true), PodPhase::kSucceeded);
}

TEST(PodPhaseTest, FailedInitIsFailedOnlyUnderNever) {
  ContainerSnapshot init = Snap("init", Role::kInit, StateSnapshot::Kind::kWaiting);
  init.last_state = Snap("", Role::kInit, StateSnapshot::Kind::kTerminated, 1).state;
  const ContainerSnapshot app = Snap("app", Role::kApp, StateSnapshot::Kind::kWaiting);
  const std::vector<ContainerSnapshot> v = {init, app};
  EXPECT_EQ(ComputePodPhase(PodRestartPolicy::kNever, v, false), PodPhase::kFailed);
  EXPECT_EQ(ComputePodPhase(PodRestartPolicy::kOnFailure, v, false), PodPhase::kPending);
}

TEST(PodPhaseTest, TerminatedSidecarsAreIgnored) {
  ContainerSnapshot sc = Snap("sc", Role::kSidecar, StateSnapshot::Kind::kTerminated, 137);
  const ContainerSnapshot app = Snap("app", Role::kApp, StateSnapshot::Kind::kTerminated, 0);
  const std::vector<ContainerSnapshot> v = {sc, app};
  EXPECT_EQ(ComputePodPhase(PodRestartPolicy::kNever, v, false), PodPhase::kSucceeded);
  sc.state = Snap("sc", Role::kSidecar, StateSnapshot::Kind::kRunning).state;
  sc.started = true;
  const std::vector<ContainerSnapshot> w = {sc, app};
  EXPECT_EQ(ComputePodPhase(PodRestartPolicy::kNever, w, false), PodPhase::kRunning);
}

}  // namespace
}  // namespace podshim::shim
