#include "cgroups/manager.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixtures/fakes/cgroupfs_tree.h"

namespace podshim::cgroups {
namespace {

using podshim::testing::CgroupfsTree;
using podshim::testing::FakeKernelOptions;
using podshim::testing::TreeOp;
using Strings = std::vector<std::string>;

CgroupPath P(std::string_view s) { return *CgroupPath::Parse(s); }

FakeKernelOptions HybridHost() {
  // This development machine: the unified mount offers only hugetlb and passes nothing down.
  FakeKernelOptions o;
  o.root_controllers = {"hugetlb"};
  o.root_subtree_control = {};
  return o;
}

class ManagerTest : public ::testing::Test {
 protected:
  void Init(FakeKernelOptions kernel = {}, CgroupManagerOptions options = {}) {
    tree_ = std::make_unique<CgroupfsTree>(std::move(kernel));
    ASSERT_TRUE(tree_->ok());
    if (options.parent.IsRoot()) options.parent = P("podshim");
    options.remove_timeout = std::chrono::milliseconds(50);
    options.freeze_timeout = std::chrono::milliseconds(50);
    auto fs = tree_->OpenFs();
    ASSERT_NE(fs, nullptr);
    mgr_ = std::make_unique<CgroupV2Manager>(std::move(fs), options);
  }
  void SetUp() override { Init(); }

  std::vector<TreeOp> Ops(TreeOp::Kind kind) const {
    std::vector<TreeOp> out;
    for (const auto& op : tree_->ops()) {
      if (op.kind == kind) out.push_back(op);
    }
    return out;
  }
  Strings Paths(TreeOp::Kind kind) const {
    Strings out;
    for (const auto& op : Ops(kind)) out.push_back(op.path);
    return out;
  }

  std::unique_ptr<CgroupfsTree> tree_;
  std::unique_ptr<CgroupV2Manager> mgr_;
};

TEST_F(ManagerTest, CreatePodMakesParentAndEnablesBaseControllersTopDown) {
  auto pod = mgr_->CreatePod("web");
  ASSERT_TRUE(pod) << pod.error().ToString();
  EXPECT_EQ(pod->str(), "podshim/pod-web");
  EXPECT_EQ(tree_->ops(),
            (std::vector<TreeOp>{
                {TreeOp::kMkdir, "podshim", ""},
                {TreeOp::kWrite, "podshim/cgroup.subtree_control", "+cpu +memory +pids"},
                {TreeOp::kMkdir, "podshim/pod-web", ""},
            }));
  // The mount root is never written.
  EXPECT_TRUE(tree_->WritesTo("cgroup.subtree_control").size() == 1);
  EXPECT_EQ(tree_->Get("podshim/pod-web/cgroup.controllers"), "cpu memory pids\n");
  EXPECT_TRUE(mgr_->MissingControllers().empty());
  EXPECT_EQ(mgr_->TakeWarning(), std::nullopt);
  EXPECT_EQ(mgr_->FullPath(*pod), tree_->root() / "podshim/pod-web");
}

TEST_F(ManagerTest, CreateContainerEnablesControllersInPodBeforeTheLeaf) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = mgr_->CreateContainer("nginx");
  ASSERT_TRUE(leaf) << leaf.error().ToString();
  EXPECT_EQ(leaf->str(), "podshim/pod-web/nginx");
  const auto& ops = tree_->ops();
  ASSERT_EQ(ops.size(), 5u);
  EXPECT_EQ(ops[3], (TreeOp{TreeOp::kWrite, "podshim/pod-web/cgroup.subtree_control",
                            "+cpu +memory +pids"}));
  EXPECT_EQ(ops[4], (TreeOp{TreeOp::kMkdir, "podshim/pod-web/nginx", ""}));
  EXPECT_TRUE(tree_->Exists("podshim/pod-web/nginx/memory.max"));
  // A second container finds the controllers enabled and writes nothing more.
  ASSERT_TRUE(mgr_->CreateContainer("sidecar"));
  EXPECT_EQ(tree_->Writes().size(), 2u);
}

TEST_F(ManagerTest, ExecGroupIsAPlainChildOfTheLeafAndGoesWithThePod) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = mgr_->CreateContainer("nginx");
  ASSERT_TRUE(leaf);
  const size_t writes = tree_->Writes().size();
  auto exec = mgr_->CreateExecGroup(*leaf, "exec-1");
  ASSERT_TRUE(exec) << exec.error().ToString();
  EXPECT_EQ(exec->str(), "podshim/pod-web/nginx/exec-1");
  EXPECT_TRUE(tree_->Exists("podshim/pod-web/nginx/exec-1"));
  EXPECT_EQ(tree_->Writes().size(), writes);  // no controllers enabled in the leaf
  ASSERT_TRUE(mgr_->Remove(*exec));
  EXPECT_FALSE(tree_->Exists("podshim/pod-web/nginx/exec-1"));
  ASSERT_TRUE(mgr_->CreateExecGroup(*leaf, "exec-2"));
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_FALSE(tree_->Exists("podshim/pod-web"));
}

TEST_F(ManagerTest, ExecGroupOnlyBelowAContainerOfThisPod) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto pod = mgr_->CreateContainer("nginx");
  ASSERT_TRUE(pod);
  auto not_ours = mgr_->CreateExecGroup(P("podshim/pod-web/other"), "exec-1");
  ASSERT_FALSE(not_ours);
  EXPECT_EQ(not_ours.error().code(), ErrorCode::kConflict);
  auto bad_name = mgr_->CreateExecGroup(*pod, "../x");
  EXPECT_FALSE(bad_name);
}

TEST_F(ManagerTest, CreateContainerNeedsAPodAndAValidName) {
  auto early = mgr_->CreateContainer("c");
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto bad = mgr_->CreateContainer("../escape");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidSpec);
  ASSERT_TRUE(mgr_->CreateContainer("c"));
  auto dup = mgr_->CreateContainer("c");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kConflict);
}

TEST_F(ManagerTest, ApplyWritesExactlyTheGivenValuesInOrderAndNothingElse) {
  auto pod = *mgr_->CreatePod("web");
  const size_t before = tree_->Writes().size();
  CgroupFileValues values = {{"cpu.weight", "35"},
                             {"cpu.max", "50000 100000"},
                             {"memory.max", "209715200"},
                             {"pids.max", "1024"}};
  auto r = mgr_->Apply(pod, values);
  ASSERT_TRUE(r) << r.error().ToString();
  Strings writes = tree_->Writes();
  EXPECT_EQ(Strings(writes.begin() + static_cast<long>(before), writes.end()),
            (Strings{"podshim/pod-web/cpu.weight=35", "podshim/pod-web/cpu.max=50000 100000",
                     "podshim/pod-web/memory.max=209715200", "podshim/pod-web/pids.max=1024"}));
  // Files with no value keep the kernel's defaults.
  EXPECT_EQ(tree_->Get("podshim/pod-web/memory.low"), "0\n");
  EXPECT_EQ(tree_->Get("podshim/pod-web/memory.high"), "max\n");
  EXPECT_EQ(tree_->Get("podshim/pod-web/memory.oom.group"), "0\n");
}

TEST_F(ManagerTest, ApplyWithNoValuesWritesNothing) {
  auto pod = *mgr_->CreatePod("web");
  const size_t before = tree_->ops().size();
  ASSERT_TRUE(mgr_->Apply(pod, {}));
  EXPECT_EQ(tree_->ops().size(), before);
}

TEST_F(ManagerTest, ApplyEnablesAnExtraControllerTopDownBeforeWriting) {
  auto pod = *mgr_->CreatePod("web");
  auto leaf = *mgr_->CreateContainer("db");
  const size_t before = tree_->Writes().size();
  auto r = mgr_->Apply(leaf, {{"hugetlb.2MB.max", "4194304"}, {"memory.max", "1048576"}});
  ASSERT_TRUE(r) << r.error().ToString();
  Strings writes = tree_->Writes();
  EXPECT_EQ(Strings(writes.begin() + static_cast<long>(before), writes.end()),
            (Strings{"podshim/cgroup.subtree_control=+hugetlb",
                     "podshim/pod-web/cgroup.subtree_control=+hugetlb",
                     "podshim/pod-web/db/hugetlb.2MB.max=4194304",
                     "podshim/pod-web/db/memory.max=1048576"}));
  EXPECT_EQ(tree_->Get("podshim/pod-web/cgroup.subtree_control"), "cpu memory hugetlb pids\n");
}

TEST_F(ManagerTest, ReadBackAcceptsPageRoundedMemoryAndHugetlbMax) {
  auto pod = *mgr_->CreatePod("web");
  // The fake stores memory values rounded down to 4096 like the kernel, and hugetlb "max" as
  // the page-counter maximum in bytes.
  auto r = mgr_->Apply(pod, {{"memory.max", "100000"}, {"hugetlb.2MB.max", "max"}});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(tree_->Get("podshim/pod-web/memory.max"), "98304\n");
}

TEST_F(ManagerTest, ReadBackMismatchIsAnErrorNamingFileAndValues) {
  auto pod = *mgr_->CreatePod("web");
  tree_->StoreAs("cpu.weight", "100");
  auto r = mgr_->Apply(pod, {{"cpu.weight", "35"}, {"pids.max", "10"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  const std::string msg = r.error().ToString();
  EXPECT_NE(msg.find((tree_->root() / "podshim/pod-web/cpu.weight").string()), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("wrote \"35\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("kernel reports \"100\""), std::string::npos) << msg;
  // It stops at the first mismatch.
  EXPECT_TRUE(tree_->WritesTo("pids.max").empty());
}

TEST_F(ManagerTest, KernelRejectionNamesThePath) {
  auto pod = *mgr_->CreatePod("web");
  auto r = mgr_->Apply(pod, {{"memory.nonexistent", "1"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(r.error().ToString().find("podshim/pod-web/memory.nonexistent"), std::string::npos);
}

TEST_F(ManagerTest, BadFileNameInValuesIsRejected) {
  auto pod = *mgr_->CreatePod("web");
  auto r = mgr_->Apply(pod, {{"../cgroup.procs", "1"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidSpec);
}

TEST_F(ManagerTest, HybridHostRecordsMissingControllersAndWarnsOnce) {
  Init(HybridHost());
  auto pod = mgr_->CreatePod("web");
  ASSERT_TRUE(pod) << pod.error().ToString();
  EXPECT_TRUE(tree_->WritesTo("cgroup.subtree_control").empty());
  EXPECT_EQ(mgr_->MissingControllers(), (Strings{"cpu", "memory", "pids"}));

  ASSERT_TRUE(mgr_->Apply(*pod, {{"cpu.weight", "35"}, {"memory.max", "209715200"}}));
  EXPECT_TRUE(tree_->Writes().empty());  // skipped, not written
  EXPECT_EQ(mgr_->NotEnforcedFiles(),
            (Strings{"podshim/pod-web/cpu.weight", "podshim/pod-web/memory.max"}));

  auto warning = mgr_->TakeWarning();
  ASSERT_TRUE(warning);
  EXPECT_NE(warning->find("cgroup controllers cpu, memory, pids are not available in " +
                          (tree_->root() / "podshim").string()),
            std::string::npos)
      << *warning;
  EXPECT_NE(warning->find("not enforced: podshim/pod-web/cpu.weight, podshim/pod-web/memory.max"),
            std::string::npos)
      << *warning;
  EXPECT_TRUE(warning->ends_with(", ignoring")) << *warning;
  EXPECT_EQ(mgr_->TakeWarning(), std::nullopt);

  // More skipped files of the same controllers: recorded, but no second warning.
  auto leaf = *mgr_->CreateContainer("app");
  ASSERT_TRUE(mgr_->Apply(leaf, {{"memory.max", "1048576"}}));
  EXPECT_EQ(mgr_->NotEnforcedFiles().size(), 3u);
  EXPECT_EQ(mgr_->TakeWarning(), std::nullopt);

  // A controller that goes missing later is reported once, on its own.
  ASSERT_TRUE(mgr_->Apply(leaf, {{"hugetlb.2MB.max", "4194304"}}));
  auto later = mgr_->TakeWarning();
  ASSERT_TRUE(later);
  EXPECT_NE(later->find("cgroup controller hugetlb is not available"), std::string::npos) << *later;
  EXPECT_EQ(later->find("memory.max"), std::string::npos) << *later;
  EXPECT_EQ(mgr_->TakeWarning(), std::nullopt);
}

TEST_F(ManagerTest, PartlyAvailableControllersEnableWhatExists) {
  FakeKernelOptions k;
  k.root_controllers = {"cpu", "memory"};
  k.root_subtree_control = {"cpu", "memory"};
  Init(k);
  auto pod = *mgr_->CreatePod("web");
  EXPECT_EQ(tree_->WritesTo("cgroup.subtree_control"),
            (Strings{"podshim/cgroup.subtree_control=+cpu +memory"}));
  EXPECT_EQ(mgr_->MissingControllers(), (Strings{"pids"}));
  ASSERT_TRUE(mgr_->Apply(pod, {{"memory.max", "4096"}, {"pids.max", "10"}}));
  EXPECT_EQ(tree_->WritesTo("memory.max").size(), 1u);
  EXPECT_TRUE(tree_->WritesTo("pids.max").empty());
  EXPECT_EQ(mgr_->NotEnforcedFiles(), (Strings{"podshim/pod-web/pids.max"}));
}

TEST_F(ManagerTest, RequiredFailsOnMissingControllersAndLeavesNothingBehind) {
  CgroupManagerOptions o;
  o.required = true;
  Init(HybridHost(), o);
  auto pod = mgr_->CreatePod("web");
  ASSERT_FALSE(pod);
  EXPECT_EQ(pod.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(pod.error().ToString().find("cpu, memory, pids"), std::string::npos)
      << pod.error().ToString();
  EXPECT_FALSE(tree_->Exists("podshim"));
}

TEST_F(ManagerTest, RequiredFailsOnApplyThatCannotBeEnforced) {
  FakeKernelOptions k;
  k.root_controllers = {"cpu", "memory", "pids"};
  k.root_subtree_control = {"cpu", "memory", "pids"};
  CgroupManagerOptions o;
  o.required = true;
  Init(k, o);
  auto pod = mgr_->CreatePod("web");
  ASSERT_TRUE(pod) << pod.error().ToString();
  const size_t before = tree_->Writes().size();
  auto r = mgr_->Apply(*pod, {{"memory.max", "4096"}, {"hugetlb.2MB.max", "4194304"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.error().ToString().find("hugetlb.2MB.max"), std::string::npos)
      << r.error().ToString();
  EXPECT_EQ(tree_->Writes().size(), before);  // nothing written when it cannot all be enforced
}

TEST_F(ManagerTest, ExistingParentIsUsedButNeverRemoved) {
  tree_->MakeCgroup("podshim");
  auto pod = mgr_->CreatePod("web");
  ASSERT_TRUE(pod) << pod.error().ToString();
  EXPECT_EQ(Paths(TreeOp::kMkdir), (Strings{"podshim/pod-web"}));
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_EQ(Paths(TreeOp::kRmdir), (Strings{"podshim/pod-web"}));
  EXPECT_TRUE(tree_->Exists("podshim"));
}

TEST_F(ManagerTest, ExistingPodIsAConflictAndCreatedParentIsUndone) {
  // A pod cgroup under a parent nobody created yet: set the stage by hand.
  tree_->MakeCgroup("podshim");
  tree_->MakeCgroup("podshim/pod-web");
  auto pod = mgr_->CreatePod("web");
  ASSERT_FALSE(pod);
  EXPECT_EQ(pod.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(tree_->Exists("podshim/pod-web"));  // not ours: untouched
  auto again = mgr_->CreatePod("other");
  ASSERT_TRUE(again) << again.error().ToString();
  auto twice = mgr_->CreatePod("third");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), ErrorCode::kConflict);
}

TEST_F(ManagerTest, NestedParentIsCreatedAndEnabledLevelByLevel) {
  CgroupManagerOptions o;
  o.parent = P("kube/podshim");
  Init({}, o);
  auto pod = mgr_->CreatePod("a");
  ASSERT_TRUE(pod) << pod.error().ToString();
  EXPECT_EQ(pod->str(), "kube/podshim/pod-a");
  EXPECT_EQ(tree_->WritesTo("cgroup.subtree_control"),
            (Strings{"kube/cgroup.subtree_control=+cpu +memory +pids",
                     "kube/podshim/cgroup.subtree_control=+cpu +memory +pids"}));
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_EQ(Paths(TreeOp::kRmdir), (Strings{"kube/podshim/pod-a", "kube/podshim", "kube"}));
  EXPECT_FALSE(tree_->Exists("kube"));
}

TEST_F(ManagerTest, RemovePodRemovesLeavesThenPodThenCreatedParent) {
  auto pod = *mgr_->CreatePod("web");
  ASSERT_TRUE(mgr_->CreateContainer("init"));
  ASSERT_TRUE(mgr_->CreateContainer("app"));
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_EQ(Paths(TreeOp::kRmdir),
            (Strings{"podshim/pod-web/app", "podshim/pod-web/init", "podshim/pod-web", "podshim"}));
  EXPECT_FALSE(tree_->Exists("podshim"));
  EXPECT_EQ(mgr_->pod(), std::nullopt);
}

TEST_F(ManagerTest, CreatedParentSharedWithAnotherPodStays) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  tree_->MakeCgroup("podshim/pod-other");  // another shim's pod arrives
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_TRUE(tree_->Exists("podshim/pod-other"));
  EXPECT_FALSE(tree_->Exists("podshim/pod-web"));
}

TEST_F(ManagerTest, RemoveRetriesWhileBusy) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  tree_->BusyFor("podshim/pod-web/app", 3);
  const int before = tree_->rmdir_attempts();
  auto r = mgr_->Remove(leaf);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(tree_->rmdir_attempts() - before, 4);
  EXPECT_FALSE(tree_->Exists("podshim/pod-web/app"));
}

TEST_F(ManagerTest, RemoveGivesUpAfterTheTimeoutWithEbusy) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  tree_->BusyFor("podshim/pod-web/app", 1000000);
  auto start = std::chrono::steady_clock::now();
  auto r = mgr_->Remove(leaf);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::device_or_resource_busy);
  EXPECT_NE(r.error().ToString().find("podshim/pod-web/app"), std::string::npos);
  EXPECT_GE(took, std::chrono::milliseconds(50));
  EXPECT_LT(took, std::chrono::seconds(2));
  // RemovePod reports the failure and keeps the pod and parent for a later attempt.
  auto all = mgr_->RemovePod();
  ASSERT_FALSE(all);
  EXPECT_TRUE(tree_->Exists("podshim/pod-web"));
  EXPECT_TRUE(tree_->Exists("podshim"));
  tree_->BusyFor("podshim/pod-web/app", 0);
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_FALSE(tree_->Exists("podshim"));
}

TEST(InstanceLeafNameTest, NameDashInstance) {
  EXPECT_EQ(InstanceLeafName("side", 0), "side-0");
  EXPECT_EQ(InstanceLeafName("app-1", 12), "app-1-12");
}

TEST_F(ManagerTest, EachInstanceGetsItsOwnLeafAndTheEndedOneIsRemovedWithoutWaiting) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto first = *mgr_->CreateContainer(InstanceLeafName("side", 0));
  auto second = mgr_->CreateContainer(InstanceLeafName("side", 1));
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(second->str(), "podshim/pod-web/side-1");
  // Still busy (a process exiting): one rmdir, no waiting; the leaf stays ours.
  tree_->BusyFor("podshim/pod-web/side-0", 1);
  const int before = tree_->rmdir_attempts();
  auto busy = mgr_->TryRemove(first);
  ASSERT_TRUE(busy) << busy.error().ToString();
  EXPECT_FALSE(*busy);
  EXPECT_EQ(tree_->rmdir_attempts() - before, 1);
  EXPECT_TRUE(tree_->Exists("podshim/pod-web/side-0"));
  auto gone = mgr_->TryRemove(first);
  ASSERT_TRUE(gone) << gone.error().ToString();
  EXPECT_TRUE(*gone);
  EXPECT_FALSE(tree_->Exists("podshim/pod-web/side-0"));
  // Removed means forgotten: a second attempt is a cgroup this manager no longer knows.
  auto again = mgr_->TryRemove(first);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_FALSE(tree_->Exists("podshim"));
}

TEST_F(ManagerTest, TryRemoveKeepsALeafWithAnExecGroupAndRemovePodTakesBoth) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer(InstanceLeafName("app", 0));
  ASSERT_TRUE(mgr_->CreateExecGroup(leaf, "exec-1"));
  auto r = mgr_->TryRemove(leaf);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_FALSE(*r);  // a child cgroup: EBUSY
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_FALSE(tree_->Exists("podshim"));
}

TEST_F(ManagerTest, TryRemoveRefusesWhatItDidNotCreate) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  tree_->MakeCgroup("podshim/pod-web/foreign");
  auto r = mgr_->TryRemove(P("podshim/pod-web/foreign"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(tree_->Exists("podshim/pod-web/foreign"));
}

TEST_F(ManagerTest, RemoveRefusesWhatItDidNotCreate) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  tree_->MakeCgroup("podshim/pod-web/foreign");
  auto r = mgr_->Remove(P("podshim/pod-web/foreign"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(tree_->Exists("podshim/pod-web/foreign"));
}

TEST_F(ManagerTest, AddProcessPopulatedAndKillViaCgroupKill) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  EXPECT_FALSE(*mgr_->Populated(leaf));
  ASSERT_TRUE(mgr_->AddProcess(leaf, 4242));
  EXPECT_EQ(tree_->WritesTo("cgroup.procs"), (Strings{"podshim/pod-web/app/cgroup.procs=4242"}));
  EXPECT_TRUE(*mgr_->Populated(leaf));
  ASSERT_TRUE(mgr_->Kill(leaf));
  EXPECT_EQ(tree_->WritesTo("cgroup.kill"), (Strings{"podshim/pod-web/app/cgroup.kill=1"}));
  EXPECT_FALSE(*mgr_->Populated(leaf));
}

TEST_F(ManagerTest, AddProcessToThePodItselfHitsNoInternalProcesses) {
  auto pod = *mgr_->CreatePod("web");
  ASSERT_TRUE(mgr_->CreateContainer("app"));
  auto r = mgr_->AddProcess(pod, 4242);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::device_or_resource_busy);
}

TEST_F(ManagerTest, KillWithoutCgroupKillFreezesSignalsEachPidAndThaws) {
  FakeKernelOptions k;
  k.has_cgroup_kill = false;  // a kernel before 5.14
  Init(k);
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) ::pause();
  }
  ASSERT_TRUE(mgr_->AddProcess(leaf, child));
  auto r = mgr_->Kill(leaf);
  int status = 0;
  pid_t reaped = ::waitpid(child, &status, 0);
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(reaped, child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_EQ(tree_->WritesTo("cgroup.freeze"), (Strings{"podshim/pod-web/app/cgroup.freeze=1",
                                                       "podshim/pod-web/app/cgroup.freeze=0"}));
}

TEST_F(ManagerTest, KillOfAMissingCgroupIsAnError) {
  auto r = mgr_->Kill(P("podshim/nope"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), std::errc::no_such_file_or_directory);
}

TEST_F(ManagerTest, FreezeAndThawWaitForCgroupEvents) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  ASSERT_TRUE(mgr_->Freeze(leaf));
  EXPECT_EQ(tree_->Get("podshim/pod-web/app/cgroup.events"), "populated 0\nfrozen 1\n");
  ASSERT_TRUE(mgr_->Thaw(leaf));
  EXPECT_EQ(tree_->Get("podshim/pod-web/app/cgroup.events"), "populated 0\nfrozen 0\n");
  EXPECT_EQ(tree_->WritesTo("cgroup.freeze"), (Strings{"podshim/pod-web/app/cgroup.freeze=1",
                                                       "podshim/pod-web/app/cgroup.freeze=0"}));
}

TEST_F(ManagerTest, FreezeThatNeverCompletesTimesOut) {
  FakeKernelOptions k;
  k.freeze_completes = false;
  Init(k);
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  auto r = mgr_->Freeze(leaf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
  EXPECT_NE(r.error().ToString().find("podshim/pod-web/app"), std::string::npos);
}

TEST_F(ManagerTest, ReadStatsParsesEachFile) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  tree_->Put("podshim/pod-web/app/cpu.stat",
             "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 9\nnr_throttled 3\n"
             "throttled_usec 700\n");
  tree_->Put("podshim/pod-web/app/memory.current", "8192\n");
  tree_->Put("podshim/pod-web/app/pids.current", "4\n");
  tree_->Put("podshim/pod-web/app/memory.events",
             "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n");
  auto stats = mgr_->ReadStats(leaf);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(*stats, (CgroupStats{1500, 3, 700, 8192, 4, 1}));
  EXPECT_EQ(*mgr_->ReadOomKills(leaf), std::optional<uint64_t>(1));
}

TEST_F(ManagerTest, ReadStatsWithoutControllersLeavesFieldsEmpty) {
  Init(HybridHost());
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  auto stats = mgr_->ReadStats(leaf);
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_EQ(stats->cpu_usage_usec, std::optional<uint64_t>(0));
  EXPECT_EQ(stats->memory_current_bytes, std::nullopt);
  EXPECT_EQ(stats->pids_current, std::nullopt);
  EXPECT_EQ(stats->oom_kills, std::nullopt);
  EXPECT_EQ(*mgr_->ReadOomKills(leaf), std::nullopt);
}

TEST_F(ManagerTest, ReadStatsNamesAGarbledFile) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  tree_->Put("podshim/pod-web/app/memory.current", "lots\n");
  auto stats = mgr_->ReadStats(leaf);
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().ToString().find("podshim/pod-web/app/memory.current"), std::string::npos)
      << stats.error().ToString();
}

TEST_F(ManagerTest, OpenDirFdIsAnOPathDirectory) {
  ASSERT_TRUE(mgr_->CreatePod("web"));
  auto leaf = *mgr_->CreateContainer("app");
  auto fd = mgr_->OpenDirFd(leaf);
  ASSERT_TRUE(fd) << fd.error().ToString();
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFL) & O_PATH);
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
}

}  // namespace
}  // namespace podshim::cgroups
