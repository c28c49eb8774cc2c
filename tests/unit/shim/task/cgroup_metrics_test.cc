// ReadCgroupMetrics on a directory of plain files shaped like a cgroup v2 directory: every file
// to its field, "max" as 2^64-1, absent files (a hybrid host's cgroup2) as zeros with cpu and
// memory still present, errors naming the file.
#include "shim/task/cgroup_metrics.h"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <string>

#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim::task {
namespace {

namespace fs = std::filesystem;
namespace cg2 = io::containerd::cgroups::v2;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// A memory.stat as kernel 6.x prints it (shortened), with keys containerd does not name.
constexpr const char kMemoryStat[] =
    "anon 4096000\nfile 8192000\nkernel 1000\nkernel_stack 16384\npagetables 4096\n"
    "sec_pagetables 0\npercpu 0\nsock 0\nvmalloc 0\nshmem 12288\nzswap 0\nfile_mapped 2048\n"
    "file_dirty 1\nfile_writeback 2\nswapcached 0\nanon_thp 0\nfile_thp 0\nshmem_thp 0\n"
    "inactive_anon 4000000\nactive_anon 96000\ninactive_file 7000000\nactive_file 1192000\n"
    "unevictable 3\nslab_reclaimable 4\nslab_unreclaimable 5\nslab 9\nworkingset_refault_anon 0\n"
    "workingset_refault_file 6\nworkingset_activate_anon 0\nworkingset_activate_file 7\n"
    "workingset_restore_anon 0\nworkingset_restore_file 0\nworkingset_nodereclaim 8\n"
    "pgscan 10\npgsteal 11\npgscan_kswapd 0\npgrefill 12\npgactivate 13\npgdeactivate 14\n"
    "pglazyfree 15\npglazyfreed 16\nthp_fault_alloc 17\nthp_collapse_alloc 18\npgfault 1900\n"
    "pgmajfault 20\n";

class CgroupMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.path() / name) << text;
  }
  cg2::Metrics Read() {
    auto m = ReadCgroupMetrics(dir_.path());
    EXPECT_TRUE(m) << m.error().ToString();
    return m.value_or(cg2::Metrics());
  }
  testing::TempDir dir_;
};

TEST_F(CgroupMetricsTest, EveryFileGoesToItsField) {
  Write("cpu.stat",
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnice_usec 0\ncore_sched.force_idle_usec "
        "0\nnr_periods 10\nnr_throttled 2\nthrottled_usec 300\nnr_bursts 0\nburst_usec 0\n");
  Write("memory.stat", kMemoryStat);
  Write("memory.current", "9000000\n");
  Write("memory.max", "268435456\n");
  Write("memory.swap.current", "4096\n");
  Write("memory.swap.max", "max\n");
  Write("memory.peak", "9500000\n");
  Write("memory.events", "low 0\nhigh 1\nmax 2\noom 3\noom_kill 4\noom_group_kill 0\n");
  Write("pids.current", "3\n");
  Write("pids.max", "max\n");
  Write("io.stat", "8:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n");
  Write("hugetlb.2MB.current", "0\n");
  Write("hugetlb.2MB.max", "4194304\n");
  Write("hugetlb.2MB.rsvd.current", "0\n");
  Write("hugetlb.1GB.current", "0\n");
  Write("hugetlb.1GB.max", "max\n");
  const cg2::Metrics m = Read();

  EXPECT_EQ(m.cpu().usage_usec(), 1500u);
  EXPECT_EQ(m.cpu().user_usec(), 1000u);
  EXPECT_EQ(m.cpu().system_usec(), 500u);
  EXPECT_EQ(m.cpu().nr_periods(), 10u);
  EXPECT_EQ(m.cpu().nr_throttled(), 2u);
  EXPECT_EQ(m.cpu().throttled_usec(), 300u);

  const cg2::MemoryStat& mem = m.memory();
  EXPECT_EQ(mem.anon(), 4096000u);
  EXPECT_EQ(mem.file(), 8192000u);
  EXPECT_EQ(mem.kernel_stack(), 16384u);
  EXPECT_EQ(mem.shmem(), 12288u);
  EXPECT_EQ(mem.file_mapped(), 2048u);
  EXPECT_EQ(mem.inactive_anon(), 4000000u);
  EXPECT_EQ(mem.inactive_file(), 7000000u);
  EXPECT_EQ(mem.active_file(), 1192000u);
  EXPECT_EQ(mem.slab(), 9u);
  EXPECT_EQ(mem.workingset_nodereclaim(), 8u);
  EXPECT_EQ(mem.workingset_refault(), 0u) << "the kernel splits it into _anon and _file";
  EXPECT_EQ(mem.pgfault(), 1900u);
  EXPECT_EQ(mem.pgmajfault(), 20u);
  EXPECT_EQ(mem.thp_collapse_alloc(), 18u);
  EXPECT_EQ(mem.usage(), 9000000u);
  EXPECT_EQ(mem.usage_limit(), 268435456u);
  EXPECT_EQ(mem.swap_usage(), 4096u);
  EXPECT_EQ(mem.swap_limit(), kMax);
  EXPECT_EQ(mem.max_usage(), 9500000u);
  EXPECT_EQ(mem.swap_max_usage(), 0u);
  // CRI's working set: usage - inactive_file.
  EXPECT_EQ(mem.usage() - mem.inactive_file(), 2000000u);

  ASSERT_TRUE(m.has_memory_events());
  EXPECT_EQ(m.memory_events().high(), 1u);
  EXPECT_EQ(m.memory_events().max(), 2u);
  EXPECT_EQ(m.memory_events().oom(), 3u);
  EXPECT_EQ(m.memory_events().oom_kill(), 4u);
  EXPECT_EQ(m.pids().current(), 3u);
  EXPECT_EQ(m.pids().limit(), kMax);
  ASSERT_EQ(m.io().usage_size(), 1);
  EXPECT_EQ(m.io().usage(0).major(), 8u);
  EXPECT_EQ(m.io().usage(0).rbytes(), 100u);
  EXPECT_EQ(m.io().usage(0).wios(), 4u);
  ASSERT_EQ(m.hugetlb_size(), 2);
  EXPECT_EQ(m.hugetlb(0).pagesize(), "1GB");
  EXPECT_EQ(m.hugetlb(0).max(), kMax);
  EXPECT_EQ(m.hugetlb(1).pagesize(), "2MB");
  EXPECT_EQ(m.hugetlb(1).max(), 4194304u);
}

// A hybrid host's cgroup2 leaf: cpu.stat's usage lines and nothing of memory, pids or io.
TEST_F(CgroupMetricsTest, MissingControllersGiveZerosWithCpuAndMemoryPresent) {
  Write("cpu.stat", "usage_usec 42\nuser_usec 40\nsystem_usec 2\n");
  const cg2::Metrics m = Read();
  ASSERT_TRUE(m.has_cpu());
  ASSERT_TRUE(m.has_memory());
  ASSERT_TRUE(m.has_pids());
  EXPECT_EQ(m.cpu().usage_usec(), 42u);
  EXPECT_EQ(m.cpu().nr_periods(), 0u);
  EXPECT_EQ(m.memory().usage(), 0u);
  EXPECT_EQ(m.memory().usage_limit(), 0u);
  EXPECT_EQ(m.pids().limit(), 0u);
  EXPECT_FALSE(m.has_memory_events());
  EXPECT_EQ(m.hugetlb_size(), 0);
  // Present on the wire too, so containerd's decoder sees non-nil cpu and memory.
  cg2::Metrics decoded;
  ASSERT_TRUE(decoded.ParseFromString(m.SerializeAsString()));
  EXPECT_TRUE(decoded.has_cpu());
  EXPECT_TRUE(decoded.has_memory());
}

TEST(CgroupMetricsNoDirTest, NoCgroupOrAGoneOneIsAllZeros) {
  for (const fs::path& dir : {fs::path(), fs::path("/nonexistent/podshim/cgroup")}) {
    auto m = ReadCgroupMetrics(dir);
    ASSERT_TRUE(m) << m.error().ToString();
    EXPECT_TRUE(m->has_cpu() && m->has_memory()) << dir;
    EXPECT_EQ(m->cpu().usage_usec(), 0u);
  }
}

TEST_F(CgroupMetricsTest, AMalformedFileIsAnErrorNamingIt) {
  Write("cpu.stat", "usage_usec 1\n");
  Write("memory.max", "lots\n");
  auto m = ReadCgroupMetrics(dir_.path());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().ToString().find((dir_.path() / "memory.max").string()), std::string::npos)
      << m.error().ToString();
  Write("memory.max", "max\n");
  Write("memory.stat", "anon\n");
  m = ReadCgroupMetrics(dir_.path());
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().ToString().find("memory.stat"), std::string::npos) << m.error().ToString();
}

TEST_F(CgroupMetricsTest, AnOverlongFileIsCutAtItsLastWholeLine) {
  std::string io;
  for (int i = 0; io.size() <= kMaxStatFileBytes; ++i) {
    io += "8:" + std::to_string(i) + " rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n";
  }
  Write("io.stat", io);
  const cg2::Metrics m = Read();
  EXPECT_GT(m.io().usage_size(), 100);
  EXPECT_LT(static_cast<size_t>(m.io().usage_size()), kMaxStatFileBytes / 40);
  EXPECT_EQ(m.io().usage(m.io().usage_size() - 1).wios(), 4u) << "no half line parsed";
}

}  // namespace
}  // namespace podshim::shim::task
