// CgroupV2Manager::CreateAt / RemoveEmptyParentsOf (a cgroup at an exact path, for `podshim
// oci`) and Apply without read-back, on the fake cgroupfs tree.
#include <gtest/gtest.h>

#include "cgroups/created_parent_mark.h"
#include "cgroups/manager.h"
#include "fixtures/fakes/cgroupfs_tree.h"

namespace podshim::cgroups {
namespace {

using podshim::testing::CgroupfsTree;
using podshim::testing::FakeKernelOptions;
using podshim::testing::TreeOp;

CgroupPath P(std::string_view s) { return *CgroupPath::Parse(s); }

class ManagerPlaceTest : public ::testing::Test {
 protected:
  void Init(FakeKernelOptions kernel = {},
            std::vector<std::string> base = {"cpu", "memory", "pids"}) {
    tree_ = std::make_unique<CgroupfsTree>(std::move(kernel));
    ASSERT_TRUE(tree_->ok());
    mgr_ = MakeManager(base);
  }
  std::unique_ptr<CgroupV2Manager> MakeManager(std::vector<std::string> base) {
    CgroupManagerOptions options;  // parent: the root
    options.base_controllers = std::move(base);
    options.remove_timeout = std::chrono::milliseconds(50);
    options.verify_read_back = false;
    return std::make_unique<CgroupV2Manager>(tree_->OpenFs(), options);
  }
  void SetUp() override { Init(); }

  std::unique_ptr<CgroupfsTree> tree_;
  std::unique_ptr<CgroupV2Manager> mgr_;
};

TEST_F(ManagerPlaceTest, CreatesAncestorsAndTheCgroupEnablingFromTheRoot) {
  FakeKernelOptions k;
  k.root_subtree_control = {};  // nothing passed down yet: the root is written too
  Init(k);
  auto created = mgr_->CreateAt(P("a/b/c"));
  ASSERT_TRUE(created) << created.error().ToString();
  EXPECT_EQ(*created, (std::vector<CgroupPath>{P("a"), P("a/b"), P("a/b/c")}));
  EXPECT_EQ(tree_->ops(), (std::vector<TreeOp>{
                              {TreeOp::kMkdir, "a", ""},
                              {TreeOp::kMkdir, "a/b", ""},
                              {TreeOp::kWrite, "cgroup.subtree_control", "+cpu +memory +pids"},
                              {TreeOp::kWrite, "a/cgroup.subtree_control", "+cpu +memory +pids"},
                              {TreeOp::kWrite, "a/b/cgroup.subtree_control", "+cpu +memory +pids"},
                              {TreeOp::kMkdir, "a/b/c", ""},
                          }));
  EXPECT_EQ(tree_->Get("a/b/c/cgroup.controllers"), "cpu memory pids\n");
  EXPECT_TRUE(MarkedCreatedParent(tree_->root() / "a")) << "parents are marked for others";
  EXPECT_FALSE(MarkedCreatedParent(tree_->root() / "a/b/c"));
}

TEST_F(ManagerPlaceTest, AnExistingCgroupIsJoinedAndNeverRemoved) {
  tree_->MakeCgroup("x");
  tree_->MakeCgroup("x/y");
  auto created = mgr_->CreateAt(P("x/y"));
  ASSERT_TRUE(created);
  EXPECT_TRUE(created->empty());
  ASSERT_TRUE(mgr_->RemovePod());
  EXPECT_TRUE(tree_->Exists("x/y"));
  mgr_->RemoveEmptyParentsOf(P("x/y"));
  EXPECT_TRUE(tree_->Exists("x")) << "not podshim's";
}

TEST_F(ManagerPlaceTest, HybridHostRecordsTheMissingControllersForTheWarning) {
  FakeKernelOptions k;
  k.root_controllers = {"hugetlb"};
  k.root_subtree_control = {};
  Init(k);
  ASSERT_TRUE(mgr_->CreateAt(P("t/c")));
  tree_->Put("t/c/cgroup.max.depth", "max\n");  // a core file: the fake has no such file
  ASSERT_TRUE(mgr_->Apply(P("t/c"), {{"memory.max", "1048576"}, {"cgroup.max.depth", "2"}}));
  EXPECT_EQ(tree_->Get("t/c/cgroup.max.depth"), "2\n");
  auto warning = mgr_->TakeWarning();
  ASSERT_TRUE(warning);
  EXPECT_NE(warning->find("cgroup controllers cpu, memory, pids are not available in"),
            std::string::npos)
      << *warning;
  EXPECT_NE(warning->find("not enforced: t/c/memory.max, ignoring"), std::string::npos);
  EXPECT_EQ(mgr_->TakeWarning(), std::nullopt) << "once";
}

TEST_F(ManagerPlaceTest, ApplyWithoutReadBackAcceptsWhatTheKernelRewrites) {
  tree_->StoreAs("io.weight", "default 100\n8:0 300\n");
  ASSERT_TRUE(mgr_->CreateAt(P("io/c")));
  Status s = mgr_->Apply(P("io/c"), {{"io.weight", "8:0 300"}});
  EXPECT_TRUE(s) << s.error().ToString();
}

TEST_F(ManagerPlaceTest, SharedParentStaysUntilTheLastCgroupBelowIsGone) {
  ASSERT_TRUE(mgr_->CreateAt(P("shared/one")));
  auto other = MakeManager({});
  auto second = other->CreateAt(P("shared/two"));
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, std::vector<CgroupPath>{P("shared/two")}) << "the parent existed";
  // The first goes: its parent is still in use.
  ASSERT_TRUE(mgr_->Remove(P("shared/one")));
  mgr_->RemoveEmptyParentsOf(P("shared/one"));
  EXPECT_TRUE(tree_->Exists("shared"));
  // The second (which did not create the parent) removes it: it is marked.
  ASSERT_TRUE(other->Remove(P("shared/two")));
  other->RemoveEmptyParentsOf(P("shared/two"));
  EXPECT_FALSE(tree_->Exists("shared"));
}

TEST_F(ManagerPlaceTest, AdoptedCgroupsAreRemovedByAnotherManager) {
  auto created = mgr_->CreateAt(P("p/q"));
  ASSERT_TRUE(created);
  auto later = MakeManager({});
  EXPECT_FALSE(later->Remove(P("p/q"))) << "not its own yet";
  later->AdoptCreated(*created);
  ASSERT_TRUE(later->Remove(P("p/q")));
  later->RemoveEmptyParentsOf(P("p/q"));
  EXPECT_FALSE(tree_->Exists("p"));
}

TEST_F(ManagerPlaceTest, FailureUndoesWhatItCreated) {
  tree_->MakeCgroup("busy");
  tree_->Put("busy/cgroup.procs", "77\n");  // no internal processes: enabling fails
  FakeKernelOptions k;
  auto r = mgr_->CreateAt(P("busy/new/leaf"));
  ASSERT_FALSE(r);
  EXPECT_FALSE(tree_->Exists("busy/new"));
  EXPECT_FALSE(mgr_->CreateAt(CgroupPath()));
}

}  // namespace
}  // namespace podshim::cgroups
