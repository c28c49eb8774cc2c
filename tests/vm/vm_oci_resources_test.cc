// `podshim oci run` with a config.json carrying linux.resources, in the VM (pure cgroup v2 with
// every controller): a memory limit OOM-kills, pids.max holds, cpu.max throttles. The limits go
// through the whole path: the spec's JSON, the runc conversions, the cgroup created at
// linux.cgroupsPath and the process cloned into it. Runs inside the VM only.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "fixtures/bundle.h"
#include "oci/default_spec.h"
#include "vm/vm_cgroup_skip.h"
#include "vm/vm_util.h"

namespace podshim::vmtest {
namespace {

using nlohmann::json;
constexpr const char* kParent = "vmtest-oci";

class VmOciResourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = VmCgroupSkipReason(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_TRUE(bundle_.ok()) << bundle_.error();
  }
  void TearDown() override {
    Oci({"delete", "--force", "c"});
    EXPECT_FALSE(fs::exists(fs::path(kCgroupRoot) / kParent)) << "podshim oci left its cgroup";
    RemoveCgroupTree(fs::path(kCgroupRoot) / kParent);
  }

  // config.json: /test_proc ARGS with `resources`, in <kParent>/c.
  void Config(std::vector<std::string> args, const json& resources) {
    args.insert(args.begin(), "/test_proc");
    json c = json::parse(oci::DefaultSpecJson(args));
    c["linux"]["cgroupsPath"] = std::string("/") + kParent + "/c";
    if (!resources.is_null()) c["linux"]["resources"] = resources;
    Status s = bundle_.WriteConfig(c.dump());
    ASSERT_TRUE(s) << s.error().ToString();
  }

  // podshim oci --root <bundle>/state ARGS; stdout and stderr in <bundle>/out.
  int Oci(std::vector<std::string> args, std::chrono::milliseconds timeout = 120s) {
    std::vector<std::string> argv = {Binary(), "oci", "--root", (bundle_.dir() / "state").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return WaitFor(Spawn(argv, Out(), Out()), timeout);
  }
  int Run() { return Oci({"run", "--bundle", bundle_.dir().string(), "c"}); }
  fs::path Out() const { return bundle_.dir() / "out"; }
  fs::path Cgroup() const { return fs::path(kCgroupRoot) / kParent / "c"; }

  testing::BusyboxBundle bundle_{TestProc()};
};

TEST_F(VmOciResourcesTest, MemoryLimitOomKills) {
  Config({"alloc", "96"}, json());
  EXPECT_EQ(Run(), 0) << "control run without a limit:\n" << ReadText(Out());
  fs::remove(Out());
  // 32 MiB and no swap (swap is memory+swap in the spec: equal means memory.swap.max 0).
  Config({"alloc", "96"}, {{"memory", {{"limit", 33554432}, {"swap", 33554432}}}});
  EXPECT_EQ(Run(), 128 + SIGKILL) << ReadText(Out());
  EXPECT_EQ(ReadText(Out()).find("allocated 40"), std::string::npos)
      << "allocated past the 32 MiB limit:\n"
      << ReadText(Out());
}

TEST_F(VmOciResourcesTest, PidsLimitHolds) {
  Config({"fork-many", "48"}, {{"pids", {{"limit", 16}}}});
  EXPECT_EQ(Run(), 0) << ReadText(Out());
  long forked = -1, failed = -1;
  std::string out = ReadText(Out());
  size_t at = out.find("forked");
  ASSERT_NE(at, std::string::npos) << out;
  ASSERT_EQ(std::sscanf(out.c_str() + at, "forked %ld failed %ld", &forked, &failed), 2) << out;
  EXPECT_LE(forked, 15) << out;
  EXPECT_EQ(forked + failed, 48) << out;
}

TEST_F(VmOciResourcesTest, CpuQuotaThrottles) {
  Config({"spin", "3000"}, {{"cpu", {{"quota", 10000}, {"period", 100000}}}});
  ASSERT_EQ(Oci({"run", "-d", "--bundle", bundle_.dir().string(), "c"}), 0) << ReadText(Out());
  EXPECT_EQ(Trim(ReadText(Cgroup() / "cpu.max")), "10000 100000");
  std::this_thread::sleep_for(300ms);
  const fs::path stat = Cgroup() / "cpu.stat";
  uint64_t u0 = KeyedValue(stat, "usage_usec").value_or(0);
  uint64_t t0 = KeyedValue(stat, "nr_throttled").value_or(0);
  std::this_thread::sleep_for(2s);
  uint64_t used = KeyedValue(stat, "usage_usec").value_or(0) - u0;
  uint64_t throttled = KeyedValue(stat, "nr_throttled").value_or(0) - t0;
  EXPECT_LT(used, 500000u) << "10% of a CPU is 0.2 s per 2 s";
  EXPECT_GT(throttled, 0u);
  EXPECT_EQ(Oci({"delete", "--force", "c"}), 0) << ReadText(Out());
}

}  // namespace
}  // namespace podshim::vmtest
