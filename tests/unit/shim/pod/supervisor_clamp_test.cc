// Huge durations from a manifest reach the supervisor clamped: a pod whose
// terminationGracePeriodSeconds is INT64_MAX still gets SIGKILL after its SIGTERM, at the clamped
// grace (100 years), instead of at once after an overflow.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shim/manifest/manifest.h"
#include "shim/manifest/manifest_validate.h"
#include "shim/pod/pod_plan_from_manifest.h"
#include "unit/shim/pod/supervisor_fixture.h"

namespace podshim::shim::supervisor_test {
namespace {

// 100 years of 365.25 days: kMaxManifestSeconds, spelled out.
constexpr seconds kHundredYears{3'155'760'000};

TEST_F(SupervisorTest, Int64MaxGracePeriodIsClampedNotOverflowed) {
  ManifestCheck check = CheckManifest(R"(
apiVersion: v1
kind: Pod
metadata: {name: forever}
spec:
  terminationGracePeriodSeconds: 9223372036854775807
  containers:
  - {name: app, bundle: b}
)",
                                      "/m/pod.yaml");
  ASSERT_TRUE(check.errors.empty()) << check.errors.front().ToString();
  ASSERT_TRUE(check.pod);
  Make(BuildPodPlan(*check.pod));
  Start();
  Running("app");
  All();
  sup().OnStopRequest(TerminationReason::kSignal);
  EXPECT_THAT(All(),
              ElementsAre("Emit TerminationStarted reason=Signal gracePeriodSeconds=3155760000",
                          "Signal app SIGTERM"));
  EXPECT_EQ(UntilDeadline(), kHundredYears);
  FireDeadline();
  EXPECT_THAT(Ops(), ElementsAre("Kill app"));
}

}  // namespace
}  // namespace podshim::shim::supervisor_test
