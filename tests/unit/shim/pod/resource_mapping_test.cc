#include "shim/pod/resource_mapping.h"

#include <gtest/gtest.h>

#include <string>

#include "shim/manifest/manifest.h"

namespace podshim::shim {
namespace {

constexpr int64_t kMi = 1024 * 1024;

Pod Parse(const std::string& spec_yaml) {
  std::string text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + spec_yaml;
  auto pod = ParseManifest(text, "/m/pod.yaml");
  EXPECT_TRUE(pod) << pod.error().ToString();
  return pod ? *std::move(pod) : Pod{};
}

TEST(ResourceMappingTest, MapsContainersInSpecOrderWithRolesAndDefaults) {
  Pod pod = Parse(R"(
  overhead: {cpu: 100m, memory: 32Mi}
  initContainers:
  - {name: init, bundle: b, resources: {requests: {cpu: "1"}}}
  - {name: proxy, bundle: b, restartPolicy: Always, resources: {limits: {memory: 64Mi}}}
  containers:
  - {name: app, bundle: b, resources: {requests: {cpu: 0.5}, limits: {cpu: 1500m}}}
)");
  auto input = MapPodResources(pod.spec);
  ASSERT_TRUE(input) << input.error().ToString();
  ASSERT_EQ(input->containers.size(), 3u);
  EXPECT_EQ(input->containers[0].name, "init");
  EXPECT_EQ(input->containers[0].role, cgroups::ContainerRole::kInit);
  EXPECT_EQ(input->containers[1].role, cgroups::ContainerRole::kSidecar);
  // API defaulting: the sidecar's memory request comes from its limit.
  EXPECT_EQ(input->containers[1].requests, (cgroups::ResourceList{{"memory", 64 * kMi}}));
  EXPECT_EQ(input->containers[2].role, cgroups::ContainerRole::kApp);
  EXPECT_EQ(input->containers[2].requests, (cgroups::ResourceList{{"cpu", 500}}));
  EXPECT_EQ(input->containers[2].limits, (cgroups::ResourceList{{"cpu", 1500}}));
  EXPECT_EQ(input->overhead, (cgroups::ResourceList{{"cpu", 100}, {"memory", 32 * kMi}}));
  EXPECT_FALSE(input->pod_level);
}

TEST(ResourceMappingTest, MapsPodLevelResources) {
  Pod pod = Parse(R"(
  resources: {limits: {cpu: "2", memory: 1Gi}}
  containers:
  - {name: app, bundle: b}
)");
  auto input = MapPodResources(pod.spec);
  ASSERT_TRUE(input) << input.error().ToString();
  ASSERT_TRUE(input->pod_level);
  EXPECT_EQ(input->pod_level->limits,
            (cgroups::ResourceList{{"cpu", 2000}, {"memory", 1024 * kMi}}));
  EXPECT_EQ(input->pod_level->requests, input->pod_level->limits);  // defaulted
}

TEST(ResourceMappingTest, EveryProblemNamesItsManifestPath) {
  Pod pod = Parse(R"(
  overhead: {hugepages-3000: "1"}
  containers:
  - {name: a, bundle: b, resources: {requests: {cpu: "2"}, limits: {cpu: "1"}}}
  - {name: c, bundle: b, resources: {limits: {cpu: 1x}}}
  - {name: d, bundle: b, resources: {requests: {hugepages-2Mi: 2Mi}}}
  - {name: e, bundle: b, resources: {requests: {memory: "-1"}}}
)");
  std::vector<Error> errors = CheckPodResources(pod.spec);
  std::vector<std::string> texts;
  for (const Error& e : errors) texts.push_back(e.ToString());
  EXPECT_EQ(texts, (std::vector<std::string>{
                       "spec.containers[0].resources.requests.cpu: must be less than or equal to "
                       "cpu limit of 1",
                       "spec.containers[1].resources.limits.cpu: invalid quantity \"1x\"",
                       "spec.containers[2].resources.requests.hugepages-2Mi: a limit must be set "
                       "for hugepages-2Mi",
                       "spec.containers[3].resources.requests.memory: invalid quantity \"-1\": "
                       "must not be negative",
                       "spec.overhead.hugepages-3000: resource \"hugepages-3000\" does not name a "
                       "valid page size",
                   }));
  auto input = MapPodResources(pod.spec);
  ASSERT_FALSE(input);
  EXPECT_EQ(input.error().code(), ErrorCode::kInvalidSpec);
  EXPECT_EQ(input.error().ToString(),
            texts[0] + "\n" + texts[1] + "\n" + texts[2] + "\n" + texts[3] + "\n" + texts[4]);
}

TEST(ResourceMappingTest, HugePagesRequestMustEqualLimit) {
  Pod pod = Parse(R"(
  containers:
  - {name: a, bundle: b, resources: {requests: {hugepages-2Mi: 2Mi}, limits: {hugepages-2Mi: 4Mi}}}
)");
  std::vector<Error> errors = CheckPodResources(pod.spec);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString(),
            "spec.containers[0].resources.requests.hugepages-2Mi: must be equal to hugepages-2Mi "
            "limit of 4Mi");
}

}  // namespace
}  // namespace podshim::shim
