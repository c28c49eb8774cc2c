// Real enforcement of the limits podshim writes, below the pod supervisor: CgroupV2Manager
// creates <parent>/pod-<id>/<leaf> and applies values, LinuxLauncher starts a busybox-bundle
// container straight into the leaf (CLONE_INTO_CGROUP). Each limit is checked against a control
// run without it, so a test fails if the write were skipped. Runs inside the VM only.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "cgroups/manager.h"
#include "common/sys.h"
#include "oci/launch_plan.h"
#include "oci/linux_launcher.h"
#include "vm/vm_cgroup_skip.h"
#include "vm/vm_util.h"

namespace podshim::vmtest {
namespace {

using cgroups::CgroupFileValues;
using cgroups::CgroupPath;

constexpr const char* kParent = "vmtest-enforce";

class VmEnforcementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = VmCgroupSkipReason(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_TRUE(bundle_.ok()) << bundle_.error();
    auto cgfs = cgroups::CgroupFs::Open(kCgroupRoot);
    ASSERT_TRUE(cgfs) << cgfs.error().ToString();
    cgroups::CgroupManagerOptions o;
    o.parent = *CgroupPath::Parse(kParent);
    mgr_ = std::make_unique<cgroups::CgroupV2Manager>(
        std::make_unique<cgroups::CgroupFs>(std::move(*cgfs)), o);
    auto pod = mgr_->CreatePod("p");
    ASSERT_TRUE(pod) << pod.error().ToString();
    pod_ = *pod;
  }

  void TearDown() override {
    if (mgr_) {
      for (const CgroupPath& leaf : leaves_) (void)mgr_->Kill(leaf);
    }
    for (pid_t pid : pids_) WaitFor(pid, 5s);
    if (mgr_) {
      Status s = mgr_->RemovePod();
      EXPECT_TRUE(s) << s.error().ToString();
      EXPECT_FALSE(fs::exists(fs::path(kCgroupRoot) / kParent / "pod-p"));
    }
    RemoveCgroupTree(fs::path(kCgroupRoot) / kParent);
  }

  // A new leaf with `values` applied.
  CgroupPath Leaf(const std::string& name, const CgroupFileValues& values) {
    auto leaf = mgr_->CreateContainer(name);
    EXPECT_TRUE(leaf) << leaf.error().ToString();
    if (!leaf) return {};
    Status s = mgr_->Apply(*leaf, values);
    EXPECT_TRUE(s) << s.error().ToString();
    leaves_.push_back(*leaf);
    return *leaf;
  }

  fs::path Dir(const CgroupPath& cg) const { return mgr_->FullPath(cg); }

  // Starts /test_proc ARGS in a container of the busybox bundle, inside `leaf`, with stdout
  // and stderr in <bundle>/<name>.out. Returns the pid (-1 on failure, with a test failure).
  pid_t Launch(const CgroupPath& leaf, const std::string& name, std::vector<std::string> args) {
    args.insert(args.begin(), "/test_proc");
    auto dirfd = mgr_->OpenDirFd(leaf);
    EXPECT_TRUE(dirfd) << dirfd.error().ToString();
    if (!dirfd) return -1;
    auto out = sys::Open(Out(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
    EXPECT_TRUE(out) << out.error().ToString();
    if (!out) return -1;
    oci::LaunchOptions opts;
    opts.container_id = name;
    opts.stdout_fd = out->get();
    opts.stderr_fd = out->get();
    opts.cgroup_dir_fd = dirfd->get();
    auto plan = oci::BuildLaunchPlan(testing::DefaultTestSpec(args), bundle_.dir(), opts);
    EXPECT_TRUE(plan) << plan.error().ToString();
    if (!plan) return -1;
    oci::LinuxLauncher launcher;
    auto handle = launcher.Launch(*plan);
    EXPECT_TRUE(handle) << handle.error().ToString();
    if (!handle) return -1;
    pids_.push_back(handle->pid());
    return handle->pid();
  }

  fs::path Out(const std::string& name) const { return bundle_.dir() / (name + ".out"); }

  // Waits for a launched container; forgets its pid.
  int Wait(pid_t pid, std::chrono::milliseconds timeout) {
    std::erase(pids_, pid);
    return WaitFor(pid, timeout);
  }

  VmBundle bundle_;
  std::unique_ptr<cgroups::CgroupV2Manager> mgr_;
  CgroupPath pod_;
  std::vector<CgroupPath> leaves_;
  std::vector<pid_t> pids_;
};

TEST_F(VmEnforcementTest, MemoryMaxOomKillsTheAllocator) {
  // Control: without a limit the same allocation completes.
  CgroupPath free_leaf = Leaf("free", {});
  pid_t free_pid = Launch(free_leaf, "free", {"alloc", "96"});
  ASSERT_GT(free_pid, 0);
  EXPECT_EQ(Wait(free_pid, 120s), 0) << ReadText(Out("free"));
  EXPECT_EQ(KeyedValue(Dir(free_leaf) / "memory.events", "oom_kill"), 0u);

  CgroupPath leaf = Leaf("hog", {{"memory.max", "33554432"}, {"memory.oom.group", "1"}});
  EXPECT_EQ(Trim(ReadText(Dir(leaf) / "memory.max")), "33554432");
  pid_t pid = Launch(leaf, "hog", {"alloc", "96"});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(Wait(pid, 120s), 128 + SIGKILL) << ReadText(Out("hog"));
  auto ooms = mgr_->ReadOomKills(leaf);
  ASSERT_TRUE(ooms) << ooms.error().ToString();
  ASSERT_TRUE(ooms->has_value());
  EXPECT_GE(**ooms, 1u);
  // The pod's memory.events counts its descendants' kills too (the shim's final read).
  EXPECT_GE(KeyedValue(Dir(pod_) / "memory.events", "oom_kill").value_or(0), 1u);
  EXPECT_EQ(ReadText(Out("hog")).find("allocated 40"), std::string::npos)
      << "allocated past the 32 MiB limit:\n"
      << ReadText(Out("hog"));
}

// Reads usage_usec and nr_throttled of `dir` over `wall` of wall time.
struct CpuDelta {
  uint64_t usage_usec = 0;
  uint64_t nr_throttled = 0;
};
CpuDelta MeasureCpu(const fs::path& dir, std::chrono::milliseconds wall) {
  fs::path stat = dir / "cpu.stat";
  uint64_t u0 = KeyedValue(stat, "usage_usec").value_or(0);
  uint64_t t0 = KeyedValue(stat, "nr_throttled").value_or(0);
  std::this_thread::sleep_for(wall);
  return {KeyedValue(stat, "usage_usec").value_or(0) - u0,
          KeyedValue(stat, "nr_throttled").value_or(0) - t0};
}

TEST_F(VmEnforcementTest, CpuMaxThrottlesABusyLoop) {
  // Control: an unlimited busy loop gets most of a CPU over 2 s.
  CgroupPath free_leaf = Leaf("free", {});
  pid_t free_pid = Launch(free_leaf, "free", {"spin", "3000"});
  ASSERT_GT(free_pid, 0);
  std::this_thread::sleep_for(300ms);
  CpuDelta control = MeasureCpu(Dir(free_leaf), 2s);
  EXPECT_GT(control.usage_usec, 1000000u) << "control run too slow to compare against";
  EXPECT_EQ(control.nr_throttled, 0u);
  EXPECT_EQ(Wait(free_pid, 30s), 0);

  // cpu: 100m is cpu.max "10000 100000": 0.2 s of CPU per 2 s.
  CgroupPath leaf = Leaf("spin", {{"cpu.max", "10000 100000"}});
  EXPECT_EQ(Trim(ReadText(Dir(leaf) / "cpu.max")), "10000 100000");
  pid_t pid = Launch(leaf, "spin", {"spin", "3000"});
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(300ms);
  CpuDelta limited = MeasureCpu(Dir(leaf), 2s);
  EXPECT_LT(limited.usage_usec, 500000u);
  EXPECT_GT(limited.nr_throttled, 0u);
  EXPECT_EQ(Wait(pid, 30s), 0);
}

TEST_F(VmEnforcementTest, PidsMaxStopsForks) {
  // Control: 48 forks all succeed without a limit.
  CgroupPath free_leaf = Leaf("free", {});
  pid_t free_pid = Launch(free_leaf, "free", {"fork-many", "48"});
  ASSERT_GT(free_pid, 0);
  EXPECT_EQ(Wait(free_pid, 60s), 0);
  EXPECT_NE(ReadText(Out("free")).find("forked 48 failed 0"), std::string::npos)
      << ReadText(Out("free"));

  CgroupPath leaf = Leaf("bomb", {{"pids.max", "16"}});
  pid_t pid = Launch(leaf, "bomb", {"fork-many", "48", "pause"});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(
      Eventually([&] { return ReadText(Out("bomb")).find("forked") != std::string::npos; }, 60s));
  // At most 16 tasks: test_proc itself and 15 children; every other fork failed.
  long forked = -1, failed = -1;
  std::string out = ReadText(Out("bomb"));
  ASSERT_EQ(std::sscanf(out.c_str(), "forked %ld failed %ld", &forked, &failed), 2) << out;
  EXPECT_LE(forked, 15) << out;
  EXPECT_EQ(forked + failed, 48) << out;
  EXPECT_LE(NumberIn(Dir(leaf) / "pids.current").value_or(0), 16u);
  EXPECT_GE(KeyedValue(Dir(leaf) / "pids.events", "max").value_or(0), 1u);
  Status s = mgr_->Kill(leaf);
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(Wait(pid, 10s), 128 + SIGKILL);
  EXPECT_TRUE(Eventually([&] { return PidsInTree(Dir(leaf)).empty(); }, 5s));
}

TEST_F(VmEnforcementTest, CgroupKillReachesAGrandchildIgnoringSigterm) {
  CgroupPath leaf = Leaf("stubborn", {});
  pid_t pid = Launch(leaf, "stubborn", {"ignore-term", "spawn-grandchild", "pause"});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(Eventually([&] { return PidsInTree(Dir(leaf)).size() == 2; }, 10s));
  std::vector<pid_t> before = PidsInTree(Dir(leaf));
  // Control: SIGTERM alone leaves both running (both ignore it).
  for (pid_t p : before) ::kill(p, SIGTERM);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(PidsInTree(Dir(leaf)).size(), 2u);

  Status s = mgr_->Kill(leaf);
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(Wait(pid, 10s), 128 + SIGKILL);
  EXPECT_TRUE(Eventually([&] { return PidsInTree(Dir(leaf)).empty(); }, 5s));
  auto populated = mgr_->Populated(leaf);
  ASSERT_TRUE(populated) << populated.error().ToString();
  EXPECT_FALSE(*populated);
  for (pid_t p : before) {
    EXPECT_TRUE(Eventually([&] { return ProcessGone(p); }, 5s))
        << "pid " << p << " survived cgroup.kill";
  }
}

}  // namespace
}  // namespace podshim::vmtest
