// CgroupV2Manager on this host's real cgroup2 mount (root only). Each test works under its own
// parent "podshim-test-<pid>-<n>" directly under the mount (or under PODSHIM_TEST_CGROUP_ROOT,
// a delegated cgroup, when set) and removes it in TearDown, whatever happened.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "cgroups/control_files.h"
#include "cgroups/manager.h"
#include "cgroups/mountinfo.h"
#include "common/sys.h"

namespace podshim::cgroups {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// rmdir a cgroup tree deepest first (cgroupfs control files go with their directory), retrying
// briefly while the kernel still counts exiting processes.
void RemoveCgroupTree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec)) RemoveCgroupTree(e.path());
  }
  for (int i = 0; i < 100 && ::rmdir(dir.c_str()) < 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(10ms);
  }
}

bool WaitUntil(auto pred, std::chrono::milliseconds timeout = 2000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class CgroupsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    // Grandchildren that test_proc forks are re-parented to us, so TearDown reaps them too
    // (this binary holds only these tests, so the process-wide flag stays here).
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    if (const char* delegated = std::getenv("PODSHIM_TEST_CGROUP_ROOT"); delegated && *delegated) {
      root_ = delegated;
    } else {
      auto mount = ReadCgroup2Mount();
      if (!mount) GTEST_SKIP() << "no cgroup2 mount: " << mount.error().ToString();
      if (mount->read_only)
        GTEST_SKIP() << "cgroup2 mount " << mount->mount_point << " is read-only";
      root_ = mount->mount_point;
    }
    if (::access(root_.c_str(), W_OK) < 0) GTEST_SKIP() << root_ << " is not writable";
    static int counter = 0;
    parent_name_ = "podshim-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    ASSERT_FALSE(fs::exists(root_ / parent_name_));
  }

  void TearDown() override {
    // Whatever a failed test left running under our parent (grandchildren included) dies here;
    // then the direct children are reaped.
    if (!parent_name_.empty() && fs::exists(root_ / parent_name_ / "cgroup.kill")) {
      (void)sys::WriteFile(root_ / parent_name_ / "cgroup.kill", "1");
    }
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    children_.clear();
    // Everything left is dead or dying (cgroup.kill above): reap it, grandchildren included.
    while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
    }
    mgr_.reset();
    if (!parent_name_.empty()) {
      RemoveCgroupTree(root_ / parent_name_);
      EXPECT_FALSE(fs::exists(root_ / parent_name_)) << "leaked cgroup " << root_ / parent_name_;
    }
  }

  std::unique_ptr<CgroupV2Manager> MakeManager(bool required = false) {
    auto cgfs = CgroupFs::Open(root_);
    EXPECT_TRUE(cgfs) << cgfs.error().ToString();
    if (!cgfs) return nullptr;
    CgroupManagerOptions o;
    o.parent = *CgroupPath::Parse(parent_name_);
    o.required = required;
    o.remove_timeout = 1000ms;
    return std::make_unique<CgroupV2Manager>(std::make_unique<CgroupFs>(std::move(*cgfs)), o);
  }

  // fork + exec test_proc with `args`; the pid is killed and reaped in TearDown unless Reap()ed.
  // With `into`, the child waits on a pipe until the manager has moved it there, so everything
  // it does after exec (forking a grandchild) happens inside that cgroup.
  pid_t Spawn(std::vector<std::string> args, const CgroupPath* into = nullptr) {
    args.insert(args.begin(), PODSHIM_TEST_PROC);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    auto gate = sys::Pipe();
    EXPECT_TRUE(gate) << gate.error().ToString();
    if (!gate) return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
      char byte;
      gate->write.Reset();
      if (::read(gate->read.get(), &byte, 1) != 1) ::_exit(126);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (pid < 0) return pid;
    children_.push_back(pid);
    if (into) {
      auto added = mgr_->AddProcess(*into, pid);
      EXPECT_TRUE(added) << added.error().ToString();
    }
    EXPECT_EQ(::write(gate->write.get(), "x", 1), 1);
    return pid;
  }

  // Waits for `pid` and returns its wait status.
  int Reap(pid_t pid) {
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    std::erase(children_, pid);
    return status;
  }

  // clone3(CLONE_INTO_CGROUP) of `test_proc pause` into `cg`, as LinuxLauncher starts a
  // container; the pid is killed and reaped in TearDown unless Reap()ed.
  pid_t CloneInto(const CgroupPath& cg) {
    auto dirfd = mgr_->OpenDirFd(cg);
    EXPECT_TRUE(dirfd) << dirfd.error().ToString();
    if (!dirfd) return -1;
    struct clone_args args {};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(dirfd->get());
    std::string proc = PODSHIM_TEST_PROC;
    char arg1[] = "pause";
    char* argv[] = {proc.data(), arg1, nullptr};
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    EXPECT_GT(pid, 0) << "clone3: " << std::strerror(errno);
    if (pid > 0) children_.push_back(static_cast<pid_t>(pid));
    return static_cast<pid_t>(pid);
  }

  std::vector<pid_t> Procs(const CgroupPath& cg) {
    auto text = sys::ReadFile(root_ / cg.str() / "cgroup.procs");
    EXPECT_TRUE(text) << text.error().ToString();
    auto pids = ParseProcs(text ? *text : "");
    return pids ? *pids : std::vector<pid_t>();
  }

  fs::path root_;
  std::string parent_name_;
  std::vector<pid_t> children_;
  std::unique_ptr<CgroupV2Manager> mgr_;
};

TEST_F(CgroupsIntegrationTest, ProcessInLeafIsPopulatedKilledAndEverythingRemoved) {
  mgr_ = MakeManager();
  ASSERT_NE(mgr_, nullptr);
  auto pod = mgr_->CreatePod("it");
  ASSERT_TRUE(pod) << pod.error().ToString();
  auto leaf = mgr_->CreateContainer("app");
  ASSERT_TRUE(leaf) << leaf.error().ToString();
  EXPECT_TRUE(fs::is_directory(root_ / parent_name_ / "pod-it" / "app"));
  EXPECT_FALSE(*mgr_->Populated(*leaf));

  // The payload forks a grandchild: cgroup.kill must reach it too.
  pid_t child = Spawn({"spawn-grandchild", "pause"}, &*leaf);
  ASSERT_GT(child, 0);
  EXPECT_EQ(Procs(*leaf).front(), child);
  EXPECT_TRUE(*mgr_->Populated(*leaf));
  EXPECT_TRUE(*mgr_->Populated(*pod));  // populated counts descendants
  // The grandchild is forked after the move, so it is born in the leaf.
  EXPECT_TRUE(WaitUntil([&] { return Procs(*leaf).size() == 2; })) << Procs(*leaf).size();

  auto killed = mgr_->Kill(*leaf);
  ASSERT_TRUE(killed) << killed.error().ToString();
  int status = Reap(child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_TRUE(WaitUntil([&] { return !*mgr_->Populated(*leaf); }))
      << "grandchild survived cgroup.kill";

  auto removed = mgr_->RemovePod();
  ASSERT_TRUE(removed) << removed.error().ToString();
  EXPECT_FALSE(fs::exists(root_ / parent_name_));
}

TEST_F(CgroupsIntegrationTest, PopulatedCgroupIsBusyUntilItsProcessIsGone) {
  mgr_ = MakeManager();
  ASSERT_NE(mgr_, nullptr);
  ASSERT_TRUE(mgr_->CreatePod("busy"));
  auto leaf = *mgr_->CreateContainer("app");
  pid_t child = Spawn({"pause"}, &leaf);
  ASSERT_GT(child, 0);
  auto start = std::chrono::steady_clock::now();
  auto r = mgr_->Remove(leaf);  // retried for about a second, then EBUSY
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::device_or_resource_busy) << r.error().ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
  ASSERT_TRUE(mgr_->Kill(leaf));
  Reap(child);
  auto again = mgr_->Remove(leaf);
  ASSERT_TRUE(again) << again.error().ToString();
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_FALSE(fs::exists(root_ / parent_name_));
}

TEST_F(CgroupsIntegrationTest, FreezeThawAndStatsOnARealCgroup) {
  mgr_ = MakeManager();
  ASSERT_NE(mgr_, nullptr);
  ASSERT_TRUE(mgr_->CreatePod("frz"));
  auto leaf = *mgr_->CreateContainer("app");
  pid_t child = Spawn({"pause"}, &leaf);
  ASSERT_GT(child, 0);
  auto frozen = mgr_->Freeze(leaf);
  ASSERT_TRUE(frozen) << frozen.error().ToString();
  auto events =
      ParseCgroupEvents(*sys::ReadFile(root_ / parent_name_ / "pod-frz/app/cgroup.events"));
  ASSERT_TRUE(events);
  EXPECT_TRUE(events->frozen);
  auto thawed = mgr_->Thaw(leaf);
  ASSERT_TRUE(thawed) << thawed.error().ToString();
  auto stats = mgr_->ReadStats(leaf);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_TRUE(stats->cpu_usage_usec.has_value());  // cpu.stat is a core file
  const bool has_memory = fs::exists(root_ / parent_name_ / "pod-frz/app/memory.current");
  EXPECT_EQ(stats->memory_current_bytes.has_value(), has_memory);
  EXPECT_EQ(stats->oom_kills.has_value(), has_memory);
  ASSERT_TRUE(mgr_->Kill(leaf));
  Reap(child);
  ASSERT_TRUE(mgr_->RemovePod());
}

TEST_F(CgroupsIntegrationTest, CloneIntoCgroupWithTheOpenDirFd) {
  mgr_ = MakeManager();
  ASSERT_NE(mgr_, nullptr);
  ASSERT_TRUE(mgr_->CreatePod("clone"));
  auto leaf = *mgr_->CreateContainer("app");
  auto dirfd = mgr_->OpenDirFd(leaf);
  ASSERT_TRUE(dirfd) << dirfd.error().ToString();
  // clone3(CLONE_INTO_CGROUP) takes the O_PATH fd (kernel 5.7): the child is born in the leaf.
  struct clone_args args {};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(dirfd->get());
  std::string proc = PODSHIM_TEST_PROC;
  char arg1[] = "pause";
  char* argv[] = {proc.data(), arg1, nullptr};
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    ::execv(argv[0], argv);
    ::_exit(127);
  }
  ASSERT_GT(pid, 0) << "clone3: " << std::strerror(errno);
  children_.push_back(static_cast<pid_t>(pid));
  EXPECT_EQ(Procs(leaf), (std::vector<pid_t>{static_cast<pid_t>(pid)}));
  ASSERT_TRUE(mgr_->Kill(leaf));
  Reap(static_cast<pid_t>(pid));
  ASSERT_TRUE(mgr_->RemovePod());
}

TEST_F(CgroupsIntegrationTest, MissingControllersAreReportedOnce) {
  mgr_ = MakeManager();
  ASSERT_NE(mgr_, nullptr);
  auto pod = mgr_->CreatePod("warn");
  ASSERT_TRUE(pod) << pod.error().ToString();
  if (mgr_->MissingControllers().empty()) {
    ASSERT_TRUE(mgr_->RemovePod());
    GTEST_SKIP() << "cpu, memory and pids are all available here: no warning to check";
  }
  // Values as `podshim resources` prints them for a small pod.
  auto applied = mgr_->Apply(*pod, {{"cpu.weight", "35"},
                                    {"cpu.max", "50000 100000"},
                                    {"memory.max", "209715200"},
                                    {"pids.max", "1024"}});
  ASSERT_TRUE(applied) << applied.error().ToString();
  auto leaf = *mgr_->CreateContainer("app");
  ASSERT_TRUE(mgr_->Apply(leaf, {{"memory.max", "104857600"}}));

  auto warning = mgr_->TakeWarning();
  ASSERT_TRUE(warning);
  for (const auto& c : mgr_->MissingControllers()) {
    EXPECT_NE(warning->find(c), std::string::npos) << c << " not named in: " << *warning;
  }
  EXPECT_NE(warning->find((root_ / parent_name_).string()), std::string::npos) << *warning;
  EXPECT_NE(warning->find("not enforced"), std::string::npos) << *warning;
  EXPECT_EQ(mgr_->TakeWarning(), std::nullopt) << "warned twice";
  // Every skipped file is on record, the pod's and the leaf's.
  EXPECT_FALSE(mgr_->NotEnforcedFiles().empty());
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_FALSE(fs::exists(root_ / parent_name_));
}

TEST_F(CgroupsIntegrationTest, RequiredFailsWhereControllersAreMissingAndLeavesNothing) {
  mgr_ = MakeManager(/*required=*/true);
  ASSERT_NE(mgr_, nullptr);
  auto pod = mgr_->CreatePod("req");
  if (pod) {
    ASSERT_TRUE(mgr_->RemovePod());
    GTEST_SKIP() << "cpu, memory and pids are all available here: --cgroup-required succeeds";
  }
  EXPECT_EQ(pod.error().code(), ErrorCode::kUnsupported) << pod.error().ToString();
  EXPECT_NE(pod.error().ToString().find("not available"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / parent_name_));
}

}  // namespace
}  // namespace podshim::cgroups

namespace podshim::cgroups {
namespace {

// Why every container start gets a fresh leaf: on current kernels (seen on 6.18) a cgroup that
// once received cgroup.kill kills each later clone3(CLONE_INTO_CGROUP) child at birth. The
// observation is printed, not asserted (a kernel may fix it); the fresh leaf must work.
TEST_F(CgroupsIntegrationTest, AKilledLeafIsReplacedByAFreshOneAndRemovedWithoutWaiting) {
  mgr_ = MakeManager();
  ASSERT_NE(mgr_, nullptr);
  ASSERT_TRUE(mgr_->CreatePod("inst"));
  auto first = *mgr_->CreateContainer(InstanceLeafName("app", 0));
  pid_t pid = CloneInto(first);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(mgr_->Kill(first));
  int status = Reap(pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;

  pid = CloneInto(first);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(200ms);
  int w = 0;
  const bool died = ::waitpid(pid, &w, WNOHANG) == pid;
  if (died) {
    std::erase(children_, pid);
  } else {
    ASSERT_TRUE(mgr_->Kill(first));
    w = Reap(pid);
  }
  std::cout << "a child cloned into a cgroup after its cgroup.kill: "
            << (died && WIFSIGNALED(w) && WTERMSIG(w) == SIGKILL ? "killed at birth" : "runs")
            << std::endl;

  // Empty again: removed (TryRemove never waits; a child just reaped may still count briefly).
  EXPECT_TRUE(WaitUntil([&] {
    auto r = mgr_->TryRemove(first);
    EXPECT_TRUE(r) << r.error().ToString();
    return !r || *r;
  }));
  EXPECT_FALSE(fs::exists(root_ / first.str()));

  // The next instance's leaf: the child is born there and runs.
  auto second = mgr_->CreateContainer(InstanceLeafName("app", 1));
  ASSERT_TRUE(second) << second.error().ToString();
  pid = CloneInto(*second);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(::waitpid(pid, &w, WNOHANG), 0) << "the child in the fresh leaf died: " << w;
  EXPECT_EQ(Procs(*second), (std::vector<pid_t>{pid}));
  // Populated: TryRemove says busy at once, without the retries Remove() makes.
  auto busy = mgr_->TryRemove(*second);
  ASSERT_TRUE(busy) << busy.error().ToString();
  EXPECT_FALSE(*busy);
  ASSERT_TRUE(mgr_->Kill(*second));
  Reap(pid);
  EXPECT_TRUE(WaitUntil([&] {
    auto r = mgr_->TryRemove(*second);
    return r && *r;
  }));
  EXPECT_FALSE(fs::exists(root_ / second->str()));
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_FALSE(fs::exists(root_ / parent_name_));
}

// Pods under one fresh --cgroup-parent that end together: whichever removes the last pod cgroup
// removes the parent, whether or not its manager created it (the parent used to stay whenever
// its creator ended before another pod below it).
TEST_F(CgroupsIntegrationTest, SharedParentIsRemovedByWhicheverPodEndsLast) {
  for (int round = 0; round < 6; ++round) {
    const int pods = 2 + round % 3;
    std::vector<std::unique_ptr<CgroupV2Manager>> managers;
    for (int i = 0; i < pods; ++i) {
      managers.push_back(MakeManager());
      ASSERT_NE(managers.back(), nullptr);
      auto pod = managers.back()->CreatePod("p" + std::to_string(i));
      ASSERT_TRUE(pod) << pod.error().ToString();
      ASSERT_TRUE(managers.back()->CreateContainer("app"));
    }
    if (round % 2 == 0) {
      // The creator (the first) ends first, the others after it, one by one.
      for (auto& m : managers) ASSERT_TRUE(m->RemovePod());
    } else {
      // All at once.
      std::vector<std::thread> threads;
      std::vector<int> ok(managers.size(), 0);
      for (size_t i = 0; i < managers.size(); ++i) {
        threads.emplace_back([&, i] { ok[i] = managers[i]->RemovePod() ? 1 : 0; });
      }
      for (auto& t : threads) t.join();
      for (int v : ok) EXPECT_EQ(v, 1);
    }
    EXPECT_FALSE(fs::exists(root_ / parent_name_)) << "round " << round << ", " << pods << " pods";
    RemoveCgroupTree(root_ / parent_name_);
    if (HasFailure()) return;
  }
}

// A pod created while another shim removes the shared parent it saw (its last pod ended): the
// creation goes through, re-making the parent, instead of failing with ENOENT.
TEST_F(CgroupsIntegrationTest, PodCreatedWhileTheSharedParentIsRemovedStillGoesThrough) {
  for (int round = 0; round < 200; ++round) {
    auto leaving = MakeManager();
    auto coming = MakeManager();
    ASSERT_NE(leaving, nullptr);
    ASSERT_NE(coming, nullptr);
    ASSERT_TRUE(leaving->CreatePod("leaving"));
    Status removed = Ok();
    std::thread t([&] { removed = leaving->RemovePod(); });
    auto pod = coming->CreatePod("coming");
    t.join();
    ASSERT_TRUE(removed) << removed.error().ToString();
    ASSERT_TRUE(pod) << "round " << round << ": " << pod.error().ToString();
    EXPECT_TRUE(fs::is_directory(root_ / parent_name_ / "pod-coming"));
    ASSERT_TRUE(coming->RemovePod());
    EXPECT_FALSE(fs::exists(root_ / parent_name_));
  }
}

}  // namespace
}  // namespace podshim::cgroups
