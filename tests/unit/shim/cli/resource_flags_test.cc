#include "shim/cli/resource_flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace podshim::shim {
namespace {

// Runs ConsumeResourceFlag over `words` until a non-flag; returns the index reached.
Result<size_t> Consume(std::vector<std::string> words, cgroups::CgroupValueOptions* options) {
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  size_t i = 0;
  while (i < argv.size()) {
    bool consumed = PODSHIM_TRY(ConsumeResourceFlag(argv, &i, options));
    if (!consumed) break;
  }
  return i;
}

TEST(ResourceFlagsTest, DefaultsAreSemanticsSection10) {
  cgroups::CgroupValueOptions o;
  EXPECT_EQ(o.cpu_weight_formula, cgroups::CpuWeightFormula::k2025);
  EXPECT_FALSE(o.memory_qos);
  EXPECT_FALSE(o.single_process_oom_kill);
  EXPECT_EQ(o.pod_pids_limit, -1);
  EXPECT_EQ(o.cpu_cfs_period_us, 100000);
  EXPECT_TRUE(o.cpu_cfs_quota);
}

TEST(ResourceFlagsTest, EverySwitchInBothSpellings) {
  cgroups::CgroupValueOptions o;
  auto end = Consume(
      {"--cpu-weight-formula=linear", "--memory-qos", "--single-process-oom-kill",
       "--pod-pids-limit", "256", "--cpu-cfs-period=50ms", "--no-cpu-cfs-quota", "pod.yaml"},
      &o);
  ASSERT_TRUE(end) << end.error().ToString();
  EXPECT_EQ(*end, 7u);  // stopped at the manifest
  EXPECT_EQ(o.cpu_weight_formula, cgroups::CpuWeightFormula::kLinear);
  EXPECT_TRUE(o.memory_qos);
  EXPECT_TRUE(o.single_process_oom_kill);
  EXPECT_EQ(o.pod_pids_limit, 256);
  EXPECT_EQ(o.cpu_cfs_period_us, 50000);
  EXPECT_FALSE(o.cpu_cfs_quota);

  ASSERT_TRUE(Consume(
      {"--cpu-weight-formula", "2025", "--pod-pids-limit=-1", "--cpu-cfs-period", "1s"}, &o));
  EXPECT_EQ(o.cpu_weight_formula, cgroups::CpuWeightFormula::k2025);
  EXPECT_EQ(o.pod_pids_limit, -1);
  EXPECT_EQ(o.cpu_cfs_period_us, 1000000);
}

TEST(ResourceFlagsTest, OtherArgumentsAreLeftAlone) {
  cgroups::CgroupValueOptions o;
  auto end = Consume({"--id", "x"}, &o);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, 0u);
}

TEST(ResourceFlagsTest, BadValuesNameTheSwitch) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--cpu-weight-formula=quadratic"},
       "--cpu-weight-formula: \"quadratic\" is not 2025 or linear"},
      {{"--pod-pids-limit", "12x"}, "--pod-pids-limit: \"12x\" is not an integer"},
      {{"--pod-pids-limit"}, "--pod-pids-limit: needs a value"},
      {{"--memory-qos=true"}, "--memory-qos: takes no value"},
      {{"--cpu-cfs-period=500us"},
       "--cpu-cfs-period: \"500us\" is not a whole number of microseconds in [1ms, 1s]"},
      {{"--cpu-cfs-period=2s"},
       "--cpu-cfs-period: \"2s\" is not a whole number of microseconds in [1ms, 1s]"},
      {{"--cpu-cfs-period=1500ns"},
       "--cpu-cfs-period: \"1500ns\" is not a whole number of microseconds in [1ms, 1s]"},
  };
  for (const auto& [words, message] : cases) {
    cgroups::CgroupValueOptions o;
    auto r = Consume(words, &o);
    ASSERT_FALSE(r) << words[0];
    EXPECT_EQ(r.error().ToString(), message);
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidSpec);
  }
}

TEST(ResourceFlagsTest, BadValuesAreEscapedInErrors) {
  cgroups::CgroupValueOptions o;
  auto r = Consume({"--pod-pids-limit", "1\n2\xff"}, &o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(), "--pod-pids-limit: \"1\\n2\\xff\" is not an integer");
}

}  // namespace
}  // namespace podshim::shim
