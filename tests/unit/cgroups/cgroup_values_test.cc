#include "cgroups/cgroup_values.h"

#include <gtest/gtest.h>

#include <utility>

namespace podshim::cgroups {
namespace {

constexpr int64_t kMi = 1024 * 1024;
constexpr int64_t kGi = 1024 * kMi;

PodResourcesInput Pod(std::vector<ContainerResources> containers, ResourceList overhead = {}) {
  PodResourcesInput pod{std::move(containers), std::move(overhead), std::nullopt};
  ApplyApiDefaults(pod);
  return pod;
}

ContainerResources C(std::string name, ContainerRole role, ResourceList requests,
                     ResourceList limits = {}) {
  return {std::move(name), role, std::move(requests), std::move(limits)};
}

PodCgroupValues Compute(const PodResourcesInput& pod, const CgroupValueOptions& options = {}) {
  auto values = ComputePodCgroupValues(pod, options);
  EXPECT_TRUE(values) << values.error().ToString();
  return values ? *std::move(values) : PodCgroupValues{};
}

TEST(CgroupValuesTest, GuaranteedPodAndContainer) {
  ResourceList both{{"cpu", 100}, {"memory", 100 * kMi}};
  PodCgroupValues v = Compute(Pod({C("app", ContainerRole::kApp, {}, both)}));
  EXPECT_EQ(v.qos, QosClass::kGuaranteed);
  EXPECT_EQ(v.pod_files,
            (CgroupFileValues{
                {"cpu.weight", "17"}, {"cpu.max", "10000 100000"}, {"memory.max", "104857600"}}));
  ASSERT_EQ(v.containers.size(), 1u);
  EXPECT_EQ(v.containers[0].name, "app");
  EXPECT_EQ(v.containers[0].files, (CgroupFileValues{{"cpu.weight", "17"},
                                                     {"cpu.max", "10000 100000"},
                                                     {"memory.max", "104857600"},
                                                     {"memory.oom.group", "1"}}));
}

// The example of issue 3: a sidecar and an app, Burstable, cpu 250m requested, memory limited.
TEST(CgroupValuesTest, BurstablePodWithSidecar) {
  PodCgroupValues v =
      Compute(Pod({C("proxy", ContainerRole::kSidecar, {{"cpu", 50}, {"memory", 32 * kMi}},
                     {{"memory", 64 * kMi}}),
                   C("app", ContainerRole::kApp, {{"cpu", 200}, {"memory", 68 * kMi}},
                     {{"memory", 136 * kMi}})}));
  EXPECT_EQ(v.qos, QosClass::kBurstable);
  EXPECT_EQ(v.requests, (ResourceList{{"cpu", 250}, {"memory", 100 * kMi}}));
  EXPECT_EQ(v.limits, (ResourceList{{"memory", 200 * kMi}}));
  // No cpu.max: no container limits cpu. 250m -> 256 shares -> weight 35.
  EXPECT_EQ(v.pod_files, (CgroupFileValues{{"cpu.weight", "35"}, {"memory.max", "209715200"}}));
  EXPECT_EQ(v.containers[0].role, ContainerRole::kSidecar);
  EXPECT_EQ(v.containers[0].files, (CgroupFileValues{{"cpu.weight", "11"},  // 50m: 51 shares
                                                     {"memory.max", "67108864"},
                                                     {"memory.oom.group", "1"}}));
}

TEST(CgroupValuesTest, AnInitWithoutMemoryLimitRemovesThePodMemoryMax) {
  PodCgroupValues v = Compute(Pod({C("init", ContainerRole::kInit, {{"memory", 10 * kMi}}),
                                   C("app", ContainerRole::kApp, {}, {{"memory", 100 * kMi}})}));
  EXPECT_EQ(v.qos, QosClass::kBurstable);
  EXPECT_EQ(v.limits, (ResourceList{{"memory", 100 * kMi}}));
  EXPECT_FALSE(v.pod_config.memory_limit_bytes);
  EXPECT_EQ(v.pod_files, (CgroupFileValues{{"cpu.weight", "1"}}));
}

TEST(CgroupValuesTest, BestEffortWritesOnlyTheMinimumWeight) {
  PodCgroupValues v = Compute(Pod({C("app", ContainerRole::kApp, {})}, {{"memory", 32 * kMi}}));
  EXPECT_EQ(v.qos, QosClass::kBestEffort);
  EXPECT_EQ(v.pod_config.cpu_shares, 2);
  EXPECT_EQ(v.pod_files, (CgroupFileValues{{"cpu.weight", "1"}}));
  EXPECT_EQ(v.containers[0].files,
            (CgroupFileValues{{"cpu.weight", "1"}, {"memory.oom.group", "1"}}));
}

TEST(CgroupValuesTest, LinearFormulaIsKubelets) {
  CgroupValueOptions options;
  options.cpu_weight_formula = CpuWeightFormula::kLinear;
  PodCgroupValues v = Compute(Pod({C("app", ContainerRole::kApp, {{"cpu", 1000}})}), options);
  EXPECT_EQ(v.pod_files, (CgroupFileValues{{"cpu.weight", "39"}}));
  EXPECT_EQ(v.containers[0].files[0], (CgroupFileValue{"cpu.weight", "39"}));
}

TEST(CgroupValuesTest, NoCfsQuotaWritesMaxWithThePeriodOnThePodOnly) {
  CgroupValueOptions options;
  options.cpu_cfs_quota = false;
  options.cpu_cfs_period_us = 50000;
  PodCgroupValues v = Compute(
      Pod({C("app", ContainerRole::kApp, {{"cpu", 100}}, {{"cpu", 200}, {"memory", 64 * kMi}})}),
      options);
  EXPECT_EQ(v.pod_config.cpu_quota_us, -1);
  EXPECT_EQ(v.pod_files[1], (CgroupFileValue{"cpu.max", "max 50000"}));
  for (const CgroupFileValue& f : v.containers[0].files) EXPECT_NE(f.file, "cpu.max");
}

TEST(CgroupValuesTest, CfsPeriodScalesTheQuota) {
  CgroupValueOptions options;
  options.cpu_cfs_period_us = 50000;
  PodCgroupValues v =
      Compute(Pod({C("app", ContainerRole::kApp, {}, {{"cpu", 5}, {"memory", kGi}})}), options);
  EXPECT_EQ(v.pod_files[1], (CgroupFileValue{"cpu.max", "1000 50000"}));  // raised to 1000us
  EXPECT_EQ(v.containers[0].files[1], (CgroupFileValue{"cpu.max", "1000 50000"}));
}

TEST(CgroupValuesTest, SingleProcessOomKillDropsTheOomGroup) {
  CgroupValueOptions options;
  options.single_process_oom_kill = true;
  PodCgroupValues v = Compute(Pod({C("app", ContainerRole::kApp, {})}), options);
  EXPECT_EQ(v.containers[0].files, (CgroupFileValues{{"cpu.weight", "1"}}));
}

TEST(CgroupValuesTest, PodPidsLimitOnlyWhenPositive) {
  CgroupValueOptions options;
  for (int64_t unlimited : {-1, 0}) {
    options.pod_pids_limit = unlimited;
    PodCgroupValues v = Compute(Pod({C("app", ContainerRole::kApp, {})}), options);
    EXPECT_EQ(v.pod_files.size(), 1u) << unlimited;
  }
  options.pod_pids_limit = 128;
  PodCgroupValues v = Compute(Pod({C("app", ContainerRole::kApp, {})}), options);
  EXPECT_EQ(v.pod_files.back(), (CgroupFileValue{"pids.max", "128"}));
  for (const CgroupFileValue& f : v.containers[0].files) EXPECT_NE(f.file, "pids.max");
}

TEST(CgroupValuesTest, MemoryQosProtectsByQosClass) {
  CgroupValueOptions options;
  options.memory_qos = true;
  ResourceList both{{"cpu", 100}, {"memory", 100 * kMi}};
  PodCgroupValues g = Compute(Pod({C("app", ContainerRole::kApp, {}, both)}), options);
  EXPECT_EQ(g.pod_config.unified,
            (std::map<std::string, std::string>{{"memory.min", "104857600"}}));
  EXPECT_EQ(
      g.containers[0].config.unified,
      (std::map<std::string, std::string>{{"memory.min", "104857600"}, {"memory.oom.group", "1"}}));
  PodCgroupValues b =
      Compute(Pod({C("app", ContainerRole::kApp, {{"memory", 100 * kMi}}, {{"memory", 200 * kMi}})},
                  {{"memory", 10 * kMi}}),
              options);
  EXPECT_EQ(b.pod_files,
            (CgroupFileValues{
                {"cpu.weight", "1"}, {"memory.max", "220200960"}, {"memory.low", "115343360"}}));
  EXPECT_EQ(b.containers[0].files, (CgroupFileValues{{"cpu.weight", "1"},
                                                     {"memory.max", "209715200"},
                                                     {"memory.low", "104857600"},
                                                     {"memory.oom.group", "1"}}));
  PodCgroupValues e = Compute(Pod({C("app", ContainerRole::kApp, {})}, {{"memory", kMi}}), options);
  EXPECT_TRUE(e.pod_config.unified.empty());
}

TEST(CgroupValuesTest, HugePagesFromRequestsWithZeroForOtherHostSizes) {
  CgroupValueOptions options;
  options.hugepage_sizes = {2 * kMi, kGi};
  PodCgroupValues v =
      Compute(Pod({C("app", ContainerRole::kApp, {},
                     {{"cpu", 100}, {"memory", 64 * kMi}, {"hugepages-2Mi", 8 * kMi}})}),
              options);
  EXPECT_EQ(v.pod_config.hugepage_limits, (std::map<int64_t, int64_t>{{2 * kMi, 8 * kMi}}));
  EXPECT_EQ(v.pod_files, (CgroupFileValues{{"cpu.weight", "17"},
                                           {"cpu.max", "10000 100000"},
                                           {"memory.max", "67108864"},
                                           {"hugetlb.2MB.max", "8388608"},
                                           {"hugetlb.1GB.max", "0"}}));
  EXPECT_EQ(v.containers[0].files.back(), (CgroupFileValue{"hugetlb.1GB.max", "0"}));
}

TEST(CgroupValuesTest, ContainerInheritsPodLevelHugePages) {
  PodResourcesInput pod{
      {C("app", ContainerRole::kApp, {})}, {}, PodLevelResources{{}, {{"hugepages-1Gi", 2 * kGi}}}};
  ApplyApiDefaults(pod);
  PodCgroupValues v = Compute(pod);
  EXPECT_EQ(v.containers[0].config.hugepage_limits, (std::map<int64_t, int64_t>{{kGi, 2 * kGi}}));
  EXPECT_EQ(v.pod_config.hugepage_limits, (std::map<int64_t, int64_t>{{kGi, 2 * kGi}}));
}

TEST(CgroupValuesTest, HugePageSizes) {
  EXPECT_EQ(*HugePageCgroupSize(2 * kMi), "2MB");
  EXPECT_EQ(*HugePageCgroupSize(kGi), "1GB");
  EXPECT_EQ(*HugePageCgroupSize(64 * 1024), "64KB");
  EXPECT_EQ(*HugePageCgroupSize(512), "512B");
  EXPECT_FALSE(HugePageCgroupSize(3000));
  EXPECT_FALSE(HugePageCgroupSize(1025 * 1024));
  EXPECT_FALSE(HugePageCgroupSize(0));
  EXPECT_EQ(*HugePageSizeFromResourceName("hugepages-2Mi"), 2 * kMi);
  EXPECT_EQ(*HugePageSizeFromResourceName("hugepages-1Gi"), kGi);
  for (const char* bad : {"hugepages-", "hugepages-0", "hugepages-x", "hugepages-3000", "memory"}) {
    auto r = HugePageSizeFromResourceName(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().ToString().find(bad), std::string::npos) << r.error().ToString();
  }
  PodResourcesInput pod{{C("app", ContainerRole::kApp, {{"hugepages-x", 1}})}, {}, std::nullopt};
  EXPECT_FALSE(ComputePodCgroupValues(pod, {}));
}

TEST(CgroupValuesTest, HugePageResourceNamesAreEscapedInErrors) {
  auto r = HugePageSizeFromResourceName("hugepages-\n\xff");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context(), "resource \"hugepages-\\n\\xff\" does not name a valid page size");
}

TEST(CgroupValuesTest, HugePageSizesInThePod) {
  PodResourcesInput pod{{C("a", ContainerRole::kApp, {}, {{"hugepages-1Gi", kGi}}),
                         C("b", ContainerRole::kApp, {{"hugepages-2Mi", 2 * kMi}})},
                        {{"hugepages-2Mi", 4 * kMi}},
                        PodLevelResources{{}, {{"hugepages-64Ki", 64 * 1024}}}};
  EXPECT_EQ(*HugePageSizesIn(pod), (std::vector<int64_t>{64 * 1024, 2 * kMi, kGi}));
  EXPECT_TRUE(HugePageSizesIn(Pod({C("a", ContainerRole::kApp, {{"cpu", 1}})}))->empty());
  pod.overhead = {{"hugepages-3000", 1}};
  EXPECT_FALSE(HugePageSizesIn(pod));
}

TEST(CgroupValuesTest, OptionsAreValidated) {
  CgroupValueOptions options;
  EXPECT_TRUE(ValidateCgroupValueOptions(options));
  for (int64_t period : {1000, 1000000}) {
    options.cpu_cfs_period_us = period;
    EXPECT_TRUE(ValidateCgroupValueOptions(options)) << period;
  }
  for (int64_t period : {0, 999, 1000001}) {
    options.cpu_cfs_period_us = period;
    auto status = ValidateCgroupValueOptions(options);
    ASSERT_FALSE(status) << period;
    EXPECT_EQ(status.error().code(), ErrorCode::kInvalidSpec);
  }
  options.cpu_cfs_period_us = kDefaultCfsPeriodUs;
  options.hugepage_sizes = {3000};
  EXPECT_FALSE(ValidateCgroupValueOptions(options));
  EXPECT_FALSE(ComputePodCgroupValues(Pod({C("a", ContainerRole::kApp, {})}), options));
}

}  // namespace
}  // namespace podshim::cgroups
