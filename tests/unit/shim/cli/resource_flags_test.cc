// The resource switches through CLI11: both spellings, defaults, and errors naming the switch.
#include "shim/cli/resource_flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace podshim::shim {
namespace {

// Parses `words` with a command line holding only the resource switches; returns the positional
// arguments (from the first one on).
Result<std::vector<std::string>> Consume(std::vector<std::string> words,
                                         cgroups::CgroupValueOptions* options) {
  CommandLine line("podshim resources", "[options] MANIFEST", "");
  AddResourceFlags(line, options);
  ParsedLine parsed = PODSHIM_TRY(line.Parse(words));
  return parsed.positional;
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
  EXPECT_EQ(*end, std::vector<std::string>{"pod.yaml"});  // stopped at the manifest
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

TEST(ResourceFlagsTest, ArgumentsAfterTheManifestAreLeftAlone) {
  cgroups::CgroupValueOptions o;
  auto end = Consume({"pod.yaml", "--memory-qos"}, &o);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, (std::vector<std::string>{"pod.yaml", "--memory-qos"}));
  EXPECT_FALSE(o.memory_qos);
  auto other = Consume({"--id", "x"}, &o);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().ToString(), "unknown option --id");
}

TEST(ResourceFlagsTest, HelpListsEverySwitch) {
  cgroups::CgroupValueOptions o;
  CommandLine line("podshim resources", "[options] MANIFEST", "");
  AddResourceFlags(line, &o);
  const std::string help = line.Help();
  for (const char* flag : {"--cpu-weight-formula", "--memory-qos", "--single-process-oom-kill",
                           "--pod-pids-limit", "--cpu-cfs-period", "--no-cpu-cfs-quota"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

TEST(ResourceFlagsTest, BadValuesNameTheSwitch) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--cpu-weight-formula=quadratic"},
       "--cpu-weight-formula: \"quadratic\" is not 2025 or linear"},
      {{"--pod-pids-limit", "12x"}, "--pod-pids-limit: \"12x\" is not an integer"},
      {{"--pod-pids-limit"}, "--pod-pids-limit: missing value"},
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
