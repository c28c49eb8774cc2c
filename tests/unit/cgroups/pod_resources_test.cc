#include "cgroups/pod_resources.h"

#include <gtest/gtest.h>

#include <utility>

namespace podshim::cgroups {
namespace {

constexpr int64_t kMi = 1024 * 1024;

ContainerResources Init(std::string name, ResourceList requests, ResourceList limits = {}) {
  return {std::move(name), ContainerRole::kInit, std::move(requests), std::move(limits)};
}
ContainerResources Sidecar(std::string name, ResourceList requests, ResourceList limits = {}) {
  return {std::move(name), ContainerRole::kSidecar, std::move(requests), std::move(limits)};
}
ContainerResources App(std::string name, ResourceList requests, ResourceList limits = {}) {
  return {std::move(name), ContainerRole::kApp, std::move(requests), std::move(limits)};
}

TEST(PodResourcesTest, SidecarDeclaredAfterAnInitDoesNotAddToIt) {
  PodResourcesInput pod{{Init("big", {{"cpu", 10000}}), Sidecar("proxy", {{"cpu", 2000}}),
                         Init("small", {{"cpu", 3000}}), App("app", {{"cpu", 1000}})},
                        {},
                        std::nullopt};
  // max(init 10, init 3 + sidecar 2, sidecar 2 + app 1) = 10, not 12.
  EXPECT_EQ(PodRequests(pod), (ResourceList{{"cpu", 10000}}));
}

TEST(PodResourcesTest, SidecarDeclaredBeforeAnInitRunsBesideIt) {
  PodResourcesInput pod{
      {Sidecar("proxy", {{"cpu", 200}}), Init("migrate", {{"cpu", 10}}), App("app", {{"cpu", 5}})},
      {},
      std::nullopt};
  EXPECT_EQ(PodRequests(pod), (ResourceList{{"cpu", 210}}));  // 200 + 10 > 200 + 5
}

TEST(PodResourcesTest, EachResourceIsAggregatedOnItsOwn) {
  PodResourcesInput pod{
      {Init("init", {{"cpu", 4000}, {"memory", 10 * kMi}}),
       App("a", {{"cpu", 1000}, {"memory", 64 * kMi}}), App("b", {{"hugepages-2Mi", 4 * kMi}})},
      {},
      std::nullopt};
  EXPECT_EQ(PodRequests(pod),
            (ResourceList{{"cpu", 4000}, {"memory", 64 * kMi}, {"hugepages-2Mi", 4 * kMi}}));
}

TEST(PodResourcesTest, OverheadAddsToRequestsAlwaysAndToNonZeroLimitsOnly) {
  PodResourcesInput pod{{App("app", {{"cpu", 100}}, {{"cpu", 200}, {"memory", 0}})},
                        {{"cpu", 50}, {"memory", 32 * kMi}},
                        std::nullopt};
  EXPECT_EQ(PodRequests(pod), (ResourceList{{"cpu", 150}, {"memory", 32 * kMi}}));
  EXPECT_EQ(PodLimits(pod), (ResourceList{{"cpu", 250}, {"memory", 0}}));
  EXPECT_EQ(PodRequests(pod, {.exclude_overhead = true}), (ResourceList{{"cpu", 100}}));
  EXPECT_EQ(PodLimits(pod, {.exclude_overhead = true}),
            (ResourceList{{"cpu", 200}, {"memory", 0}}));
}

TEST(PodResourcesTest, ZeroIsKeptDistinctFromAbsent) {
  PodResourcesInput pod{{App("app", {{"cpu", 0}})}, {}, std::nullopt};
  EXPECT_EQ(PodRequests(pod), (ResourceList{{"cpu", 0}}));
  EXPECT_EQ(PodLimits(pod), ResourceList{});
}

TEST(PodResourcesTest, SumsSaturateInsteadOfOverflowing) {
  PodResourcesInput pod{{App("a", {{"memory", INT64_MAX - 1}}), App("b", {{"memory", 5}})},
                        {{"memory", 1}},
                        std::nullopt};
  EXPECT_EQ(PodRequests(pod), (ResourceList{{"memory", INT64_MAX}}));
}

TEST(PodResourcesTest, PodLevelResourcesReplaceSupportedResourcesOnly) {
  PodResourcesInput pod{{App("app", {{"cpu", 100}, {"ephemeral-storage", 1000}})},
                        {{"cpu", 10}},
                        PodLevelResources{{{"cpu", 500}, {"example.com/gpu", 1}}, {}}};
  EXPECT_EQ(PodRequests(pod), (ResourceList{{"cpu", 510}, {"ephemeral-storage", 1000}}));
}

TEST(PodResourcesTest, DefaultingCopiesLimitsIntoMissingRequests) {
  PodResourcesInput pod{{Sidecar("proxy", {{"cpu", 50}}, {{"cpu", 100}, {"memory", 64 * kMi}}),
                         App("app", {}, {{"memory", 128 * kMi}})},
                        {},
                        std::nullopt};
  ApplyApiDefaults(pod);
  EXPECT_EQ(pod.containers[0].requests, (ResourceList{{"cpu", 50}, {"memory", 64 * kMi}}));
  EXPECT_EQ(pod.containers[1].requests, (ResourceList{{"memory", 128 * kMi}}));
  EXPECT_FALSE(pod.pod_level);
}

TEST(PodResourcesTest, DefaultingFillsPodLevelRequestsFromContainersOrLimits) {
  PodResourcesInput pod{{App("app", {{"cpu", 200}})},
                        {},
                        PodLevelResources{{}, {{"cpu", 1000}, {"memory", 256 * kMi}}}};
  ApplyApiDefaults(pod);
  EXPECT_EQ(pod.pod_level->requests, (ResourceList{{"cpu", 200}, {"memory", 256 * kMi}}));
}

TEST(PodResourcesTest, DefaultingFillsPodLevelLimitsWhenEveryContainerHasOne) {
  PodResourcesInput pod{{Init("init", {}, {{"memory", 64 * kMi}, {"cpu", 100}}),
                         App("app", {}, {{"memory", 32 * kMi}})},
                        {},
                        PodLevelResources{{{"cpu", 500}}, {}}};
  ApplyApiDefaults(pod);
  // memory: every container limits it; cpu: the app does not.
  EXPECT_EQ(pod.pod_level->limits, (ResourceList{{"memory", 64 * kMi}}));
}

TEST(PodResourcesTest, DefaultingFillsPodLevelHugePagesFromContainers) {
  PodResourcesInput pod{{App("app", {}, {{"hugepages-2Mi", 8 * kMi}, {"memory", 64 * kMi}})},
                        {},
                        PodLevelResources{{}, {{"memory", 128 * kMi}}}};
  ApplyApiDefaults(pod);
  EXPECT_EQ(pod.pod_level->limits,
            (ResourceList{{"hugepages-2Mi", 8 * kMi}, {"memory", 128 * kMi}}));
  // memory request: the container aggregate (its defaulted request), not the pod limit.
  EXPECT_EQ(pod.pod_level->requests,
            (ResourceList{{"hugepages-2Mi", 8 * kMi}, {"memory", 64 * kMi}}));
}

PodResourcesInput Defaulted(std::vector<ContainerResources> containers,
                            std::optional<PodLevelResources> level = std::nullopt) {
  PodResourcesInput pod{std::move(containers), {}, std::move(level)};
  ApplyApiDefaults(pod);
  return pod;
}

TEST(PodResourcesTest, QosBestEffortWithoutCpuOrMemory) {
  EXPECT_EQ(ComputeQos(Defaulted({App("a", {}), Init("i", {})})), QosClass::kBestEffort);
  EXPECT_EQ(ComputeQos(Defaulted({App("a", {{"cpu", 0}, {"ephemeral-storage", 100}})})),
            QosClass::kBestEffort);
}

TEST(PodResourcesTest, QosGuaranteedNeedsEveryContainerToLimitBoth) {
  ResourceList both{{"cpu", 100}, {"memory", 64 * kMi}};
  EXPECT_EQ(ComputeQos(Defaulted({Sidecar("s", {}, both), App("a", {}, both)})),
            QosClass::kGuaranteed);
  EXPECT_EQ(ComputeQos(Defaulted({Sidecar("s", {}, both), App("a", {}, {{"cpu", 100}})})),
            QosClass::kBurstable);
  EXPECT_EQ(ComputeQos(Defaulted({Init("i", {}), App("a", {}, both)})), QosClass::kBurstable);
  EXPECT_EQ(ComputeQos(Defaulted({App("a", {{"cpu", 50}, {"memory", 64 * kMi}}, both)})),
            QosClass::kBurstable);
  EXPECT_EQ(ComputeQos(Defaulted({App("a", {{"memory", 64 * kMi}})})), QosClass::kBurstable);
}

TEST(PodResourcesTest, QosFromPodLevelResourcesAlone) {
  ResourceList both{{"cpu", 1000}, {"memory", 256 * kMi}};
  EXPECT_EQ(ComputeQos(Defaulted({App("a", {})}, PodLevelResources{{}, both})),
            QosClass::kGuaranteed);
  EXPECT_EQ(ComputeQos(Defaulted({App("a", {}, both)}, PodLevelResources{{{"cpu", 500}}, {}})),
            QosClass::kBurstable);
}

TEST(PodResourcesTest, Names) {
  EXPECT_EQ(ContainerRoleName(ContainerRole::kSidecar), "sidecar");
  EXPECT_EQ(ContainerRoleName(ContainerRole::kInit), "init");
  EXPECT_EQ(ContainerRoleName(ContainerRole::kApp), "app");
  EXPECT_EQ(QosClassName(QosClass::kBurstable), "Burstable");
  EXPECT_EQ(QosClassName(QosClass::kGuaranteed), "Guaranteed");
  EXPECT_EQ(QosClassName(QosClass::kBestEffort), "BestEffort");
}

}  // namespace
}  // namespace podshim::cgroups
