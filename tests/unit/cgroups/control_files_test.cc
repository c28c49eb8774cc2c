#include "cgroups/control_files.h"

#include <gtest/gtest.h>

namespace podshim::cgroups {
namespace {

TEST(ControllerListTest, ParsesKernelLines) {
  EXPECT_EQ(*ParseControllerList("cpuset cpu io memory hugetlb pids rdma misc\n"),
            (std::vector<std::string>{"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma",
                                      "misc"}));
  EXPECT_TRUE(ParseControllerList("\n")->empty());
  EXPECT_TRUE(ParseControllerList("")->empty());
}

TEST(ControllerListTest, RejectsGarbage) {
  auto r = ParseControllerList("cpu +memory");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("\"+memory\""), std::string::npos);
}

TEST(SubtreeControlTest, FormatsEnableAndDisable) {
  EXPECT_EQ(FormatSubtreeControl({"cpu", "memory"}), "+cpu +memory");
  EXPECT_EQ(FormatSubtreeControl({"pids"}, {"io"}), "+pids -io");
  EXPECT_EQ(FormatSubtreeControl({}), "");
}

TEST(CgroupEventsTest, ParsesPopulatedAndFrozen) {
  EXPECT_EQ(*ParseCgroupEvents("populated 1\nfrozen 0\n"), (CgroupEvents{true, false}));
  EXPECT_EQ(*ParseCgroupEvents("populated 0\nfrozen 1\n"), (CgroupEvents{false, true}));
  // Kernels before 5.2 have no "frozen" line.
  EXPECT_EQ(*ParseCgroupEvents("populated 1\n"), (CgroupEvents{true, false}));
}

TEST(CgroupEventsTest, RejectsMissingPopulatedAndBadLines) {
  EXPECT_FALSE(ParseCgroupEvents("frozen 1\n"));
  auto r = ParseCgroupEvents("populated yes\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("line 1"), std::string::npos) << r.error().ToString();
}

TEST(MemoryEventsTest, ParsesAllKeysAndIgnoresUnknown) {
  auto r = ParseMemoryEvents(
      "low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 6\nsock_throttled 9\n");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(*r, (MemoryEvents{1, 2, 3, 4, 5, 6}));
}

TEST(MemoryEventsTest, OlderKernelWithoutGroupKill) {
  auto r = ParseMemoryEvents("low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->oom_kill, 1u);
  EXPECT_EQ(r->oom_group_kill, 0u);
}

TEST(CpuStatTest, ParsesWithAndWithoutCpuController) {
  auto full = ParseCpuStat(
      "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\ncore_sched.force_idle_usec 0\n"
      "nr_periods 10\nnr_throttled 3\nthrottled_usec 2500\nnr_bursts 0\nburst_usec 0\n");
  ASSERT_TRUE(full) << full.error().ToString();
  EXPECT_EQ(*full, (CpuStat{1500, 1000, 500, 10, 3, 2500}));
  auto core = ParseCpuStat("usage_usec 42\nuser_usec 40\nsystem_usec 2\n");
  ASSERT_TRUE(core);
  EXPECT_EQ(core->usage_usec, 42u);
  EXPECT_EQ(core->nr_throttled, 0u);
}

TEST(NumberTest, ParsesCurrentValues) {
  EXPECT_EQ(*ParseNumber("8192\n"), 8192u);
  EXPECT_EQ(*ParseNumber("0"), 0u);
  EXPECT_FALSE(ParseNumber("max\n"));
  EXPECT_FALSE(ParseNumber("-1"));
  EXPECT_FALSE(ParseNumber(""));
}

TEST(MaxOrNumberTest, RoundTrips) {
  EXPECT_EQ(*ParseMaxOrNumber("max\n"), std::nullopt);
  EXPECT_EQ(*ParseMaxOrNumber("209715200\n"), std::optional<uint64_t>(209715200));
  EXPECT_FALSE(ParseMaxOrNumber("unlimited"));
  EXPECT_EQ(FormatMaxOrNumber(std::nullopt), "max");
  EXPECT_EQ(FormatMaxOrNumber(1024), "1024");
}

TEST(CpuMaxTest, ParsesAndFormats) {
  EXPECT_EQ(*ParseCpuMax("max 100000\n"), (CpuMax{std::nullopt, 100000}));
  EXPECT_EQ(*ParseCpuMax("50000 100000\n"), (CpuMax{50000, 100000}));
  EXPECT_EQ(*ParseCpuMax("25000"), (CpuMax{25000, 100000}));
  EXPECT_FALSE(ParseCpuMax(""));
  EXPECT_FALSE(ParseCpuMax("max 0"));
  EXPECT_FALSE(ParseCpuMax("1 2 3"));
  EXPECT_EQ(FormatCpuMax({std::nullopt, 100000}), "max 100000");
  EXPECT_EQ(FormatCpuMax({50000, 100000}), "50000 100000");
}

TEST(ProcsTest, ParsesPids) {
  EXPECT_EQ(*ParseProcs("12\n345\n"), (std::vector<pid_t>{12, 345}));
  EXPECT_TRUE(ParseProcs("")->empty());
  EXPECT_FALSE(ParseProcs("12\nabc\n"));
  EXPECT_FALSE(ParseProcs("0\n"));
}

TEST(ControllerOfTest, PrefixBeforeFirstDot) {
  EXPECT_EQ(ControllerOf("memory.oom.group"), "memory");
  EXPECT_EQ(ControllerOf("hugetlb.2MB.max"), "hugetlb");
  EXPECT_EQ(ControllerOf("cgroup.procs"), "cgroup");
  EXPECT_EQ(ControllerOf("cpu.weight"), "cpu");
}

TEST(ReadBackTest, ExactAndWhitespace) {
  EXPECT_TRUE(ReadBackMatches("cpu.weight", "35", "35\n", 4096));
  EXPECT_TRUE(ReadBackMatches("cpu.max", "50000 100000", "50000 100000\n", 4096));
  EXPECT_FALSE(ReadBackMatches("cpu.weight", "35", "36\n", 4096));
  EXPECT_FALSE(ReadBackMatches("cpu.max", "50000 100000", "max 100000\n", 4096));
}

TEST(ReadBackTest, MemoryRoundedDownToPage) {
  EXPECT_TRUE(ReadBackMatches("memory.max", "209715200", "209715200\n", 4096));
  EXPECT_TRUE(ReadBackMatches("memory.max", "100000", "98304\n", 4096));
  EXPECT_TRUE(ReadBackMatches("memory.low", "5000", "4096\n", 4096));
  EXPECT_TRUE(ReadBackMatches("memory.max", "100000", "65536\n", 65536));
  EXPECT_FALSE(ReadBackMatches("memory.max", "100000", "102400\n", 4096));  // rounded up: no
  EXPECT_FALSE(ReadBackMatches("memory.max", "100000", "94208\n", 4096));   // a page too low
  EXPECT_FALSE(ReadBackMatches("memory.max", "max", "9223372036854771712\n", 4096));
  // Only byte-count files are rounded.
  EXPECT_FALSE(ReadBackMatches("pids.max", "100000", "98304\n", 4096));
}

TEST(ReadBackTest, HugetlbRoundingAndMax) {
  EXPECT_TRUE(ReadBackMatches("hugetlb.2MB.max", "max", "9223372036854771712\n", 4096));
  EXPECT_TRUE(ReadBackMatches("hugetlb.2MB.max", "4194304", "4194304\n", 4096));
  EXPECT_TRUE(ReadBackMatches("hugetlb.2MB.max", "5000000", "4194304\n", 4096));
  EXPECT_TRUE(ReadBackMatches("hugetlb.1GB.rsvd.max", "1073741825", "1073741824\n", 4096));
  EXPECT_FALSE(ReadBackMatches("hugetlb.2MB.max", "max", "4194304\n", 4096));
  EXPECT_FALSE(ReadBackMatches("hugetlb.2MB.max", "5000000", "4096\n", 4096));
}

TEST(TrimSpaceTest, Trims) {
  EXPECT_EQ(TrimSpace("  a b \n"), "a b");
  EXPECT_EQ(TrimSpace("\n"), "");
}

}  // namespace
}  // namespace podshim::cgroups
