// The supervisor's plan: built from a parsed manifest with the pod's restartPolicy as is (one
// enum, no translation) and each container's stop signal from its bundle, validated once into
// a ValidPodPlan that the supervisor takes without checking again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "shim/manifest/manifest.h"
#include "shim/pod/pod_plan_from_manifest.h"
#include "supervisor_fixture.h"

namespace podshim::shim {
namespace {

using std::chrono::seconds;
using supervisor_test::App;
using supervisor_test::Sidecar;
using supervisor_test::SupervisorTest;
using ::testing::ElementsAre;

Pod Parse(const std::string& restart_policy) {
  std::string text = R"(apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  restartPolicy: )" + restart_policy +
                     R"(
  terminationGracePeriodSeconds: 7
  initContainers:
  - {name: setup, bundle: b}
  - name: proxy
    bundle: b
    restartPolicy: Always
    startupProbe: {exec: {command: [cat, /ready]}}
  containers:
  - name: app
    bundle: b
    readinessProbe: {tcpSocket: {port: 80}}
    lifecycle: {postStart: {sleep: {seconds: 1}}, preStop: {sleep: {seconds: 1}}}
)";
  Result<Pod> pod = ParseManifest(text, "/m/pod.yaml");
  EXPECT_TRUE(pod.has_value()) << pod.error().ToString();
  return pod ? *pod : Pod{};
}

TEST(BuildPodPlanTest, TakesThePodRestartPolicyAsIs) {
  for (auto [text, policy] : {std::pair{"Always", PodRestartPolicy::kAlways},
                              std::pair{"OnFailure", PodRestartPolicy::kOnFailure},
                              std::pair{"Never", PodRestartPolicy::kNever}}) {
    SCOPED_TRACE(text);
    Pod pod = Parse(text);
    EXPECT_EQ(pod.spec.restart_policy, policy);
    EXPECT_EQ(BuildPodPlan(pod).restart_policy, policy);
    EXPECT_EQ(PodRestartPolicyName(policy), text);
  }
}

TEST(BuildPodPlanTest, ContainersInSpecOrderWithRolesProbesAndHooks) {
  PodPlan plan = BuildPodPlan(Parse("Never"));
  EXPECT_EQ(plan.pod_name, "web");
  EXPECT_EQ(plan.grace, seconds(7));
  ASSERT_EQ(plan.containers.size(), 3u);
  const ContainerPlan& setup = plan.containers[0];
  const ContainerPlan& proxy = plan.containers[1];
  const ContainerPlan& app = plan.containers[2];
  EXPECT_EQ(setup.name, "setup");
  EXPECT_EQ(setup.role, Role::kInit);
  EXPECT_EQ(proxy.role, Role::kSidecar);
  EXPECT_TRUE(proxy.has_startup_probe);
  EXPECT_FALSE(proxy.has_readiness_probe);
  EXPECT_EQ(app.role, Role::kApp);
  EXPECT_TRUE(app.has_readiness_probe);
  EXPECT_TRUE(app.has_poststart);
  EXPECT_TRUE(app.has_prestop);
  EXPECT_FALSE(setup.has_poststart || setup.has_prestop || setup.has_startup_probe);
}

TEST(BuildPodPlanTest, StopSignalsComeFromTheBundlesElseSigterm) {
  PodPlan plan = BuildPodPlan(Parse("Always"), {{"app", SIGQUIT}, {"proxy", SIGUSR1}});
  ASSERT_EQ(plan.containers.size(), 3u);
  EXPECT_EQ(plan.containers[0].stop_signal, SIGTERM);  // setup: not in the map
  EXPECT_EQ(plan.containers[1].stop_signal, SIGUSR1);
  EXPECT_EQ(plan.containers[2].stop_signal, SIGQUIT);
}

TEST(ValidatePodPlanTest, KeepsAGoodPlanAndRefusesABadStopSignal) {
  PodPlan plan = BuildPodPlan(Parse("OnFailure"), {{"app", SIGQUIT}});
  Result<ValidPodPlan> valid = ValidatePodPlan(plan);
  ASSERT_TRUE(valid.has_value()) << valid.error().ToString();
  EXPECT_EQ(valid->get().pod_name, "web");
  EXPECT_EQ(valid->get().restart_policy, PodRestartPolicy::kOnFailure);
  ASSERT_EQ(valid->get().containers.size(), 3u);
  EXPECT_EQ(valid->get().containers[2].stop_signal, SIGQUIT);

  plan.containers[2].stop_signal = 0;
  Result<ValidPodPlan> bad = ValidatePodPlan(plan);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().ToString(), "pod plan: stop signal of \"app\" is 0");
}

// The supervisor built over a validated plan sends each container its own stop signal.
TEST_F(SupervisorTest, TerminationSendsEachContainerItsStopSignal) {
  ContainerPlan sc = Sidecar("sc");
  sc.stop_signal = SIGUSR1;
  ContainerPlan app = App("app");
  app.stop_signal = SIGQUIT;
  Result<ValidPodPlan> plan =
      ValidatePodPlan(supervisor_test::Pod(PodRestartPolicy::kAlways, {sc, app}));
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  sup_.emplace(*plan, clock_);
  Start();
  Running("sc");
  Running("app");
  Ops();
  sup().OnStopRequest(TerminationReason::kRequest);
  EXPECT_THAT(Ops(), ElementsAre("Signal app SIGQUIT"));
  Exit("app", 0);
  EXPECT_THAT(Ops(), ElementsAre("Signal sc SIGUSR1"));
}

}  // namespace
}  // namespace podshim::shim
