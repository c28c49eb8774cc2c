// CgroupV2Manager::AdoptPod, for a shim taking over the pod of one that died: the pod cgroup a
// first manager (the dead shim's) made, with its leaves and exec groups, becomes a second
// manager's as if it had made them, so that it can remove them (children first), make new
// leaves beside them and exec groups below them. kNotFound without one, kConflict when the
// manager holds a pod already.
#include <gtest/gtest.h>

#include "cgroups/manager.h"
#include "fixtures/fakes/cgroupfs_tree.h"

namespace podshim::cgroups {
namespace {

using podshim::testing::CgroupfsTree;
using podshim::testing::TreeOp;
using Strings = std::vector<std::string>;

CgroupPath P(std::string_view s) { return *CgroupPath::Parse(s); }

class ManagerAdoptTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(tree_.ok()); }

  std::unique_ptr<CgroupV2Manager> NewManager() {
    CgroupManagerOptions options;
    options.parent = P("podshim");
    options.remove_timeout = std::chrono::milliseconds(50);
    auto fs = tree_.OpenFs();
    if (!fs) return nullptr;
    return std::make_unique<CgroupV2Manager>(std::move(fs), options);
  }
  Strings Rmdirs(size_t from = 0) const {
    Strings out;
    for (size_t i = from; i < tree_.ops().size(); ++i) {
      if (tree_.ops()[i].kind == TreeOp::kRmdir) out.push_back(tree_.ops()[i].path);
    }
    return out;
  }
  // Where `path` comes in `order`, or -1.
  static int IndexOf(const Strings& order, std::string_view path) {
    for (size_t i = 0; i < order.size(); ++i) {
      if (order[i] == path) return static_cast<int>(i);
    }
    return -1;
  }

  CgroupfsTree tree_;
};

TEST_F(ManagerAdoptTest, AdoptsTheDeadShimsPodAndRemovesItChildrenFirst) {
  // The dead shim's manager: a pod with two instances of "app", a sidecar and an exec group.
  auto dead = NewManager();
  ASSERT_NE(dead, nullptr);
  ASSERT_TRUE(dead->CreatePod("web"));
  auto app0 = dead->CreateContainer("app-0");
  ASSERT_TRUE(app0);
  ASSERT_TRUE(dead->CreateContainer("app-1"));
  ASSERT_TRUE(dead->CreateContainer("side-0"));
  ASSERT_TRUE(dead->CreateExecGroup(*app0, "exec-7"));
  dead.reset();  // the shim died: nothing removed
  ASSERT_TRUE(tree_.Exists("podshim/pod-web/app-0/exec-7"));

  auto mgr = NewManager();
  ASSERT_NE(mgr, nullptr);
  const size_t ops_before = tree_.ops().size();
  auto pod = mgr->AdoptPod("web");
  ASSERT_TRUE(pod) << pod.error().ToString();
  EXPECT_EQ(pod->str(), "podshim/pod-web");
  EXPECT_EQ(mgr->pod(), pod.value());
  EXPECT_EQ(tree_.ops().size(), ops_before) << "adopting writes nothing";

  ASSERT_TRUE(mgr->RemovePod());
  const Strings rmdirs = Rmdirs(ops_before);
  // Every one of them once, each child before its parent.
  for (std::string_view path :
       {"podshim/pod-web/app-0/exec-7", "podshim/pod-web/app-0", "podshim/pod-web/app-1",
        "podshim/pod-web/side-0", "podshim/pod-web"}) {
    EXPECT_EQ(std::count(rmdirs.begin(), rmdirs.end(), path), 1) << path;
  }
  EXPECT_LT(IndexOf(rmdirs, "podshim/pod-web/app-0/exec-7"),
            IndexOf(rmdirs, "podshim/pod-web/app-0"));
  for (std::string_view leaf :
       {"podshim/pod-web/app-0", "podshim/pod-web/app-1", "podshim/pod-web/side-0"}) {
    EXPECT_LT(IndexOf(rmdirs, leaf), IndexOf(rmdirs, "podshim/pod-web")) << leaf;
  }
  // No rmdir was refused for a child still there (the fake answers EBUSY, and it would retry).
  EXPECT_EQ(static_cast<size_t>(tree_.rmdir_attempts()), rmdirs.size());
  EXPECT_FALSE(tree_.Exists("podshim/pod-web"));
  // The parent the dead shim created (and marked) goes with its last pod.
  EXPECT_FALSE(tree_.Exists("podshim"));
  EXPECT_EQ(mgr->pod(), std::nullopt);
}

TEST_F(ManagerAdoptTest, AnAdoptedPodTakesNewLeavesAndExecGroups) {
  {
    auto dead = NewManager();
    ASSERT_TRUE(dead->CreatePod("web"));
    ASSERT_TRUE(dead->CreateContainer("app-0"));
  }
  auto mgr = NewManager();
  ASSERT_TRUE(mgr->AdoptPod("web"));
  // The adopted leaf is the manager's own: an exec group below it, and its removal.
  auto exec = mgr->CreateExecGroup(P("podshim/pod-web/app-0"), "exec-1");
  ASSERT_TRUE(exec) << exec.error().ToString();
  auto leaf = mgr->CreateContainer("app-1");
  ASSERT_TRUE(leaf) << leaf.error().ToString();
  ASSERT_TRUE(mgr->Remove(*exec));
  EXPECT_TRUE(mgr->Remove(P("podshim/pod-web/app-0")));
  EXPECT_FALSE(tree_.Exists("podshim/pod-web/app-0"));
  ASSERT_TRUE(mgr->RemovePod());
  EXPECT_FALSE(tree_.Exists("podshim/pod-web"));
}

TEST_F(ManagerAdoptTest, APodCgroupThatIsNotThereIsNotFound) {
  tree_.MakeCgroup("podshim");
  tree_.MakeCgroup("podshim/pod-other");
  auto mgr = NewManager();
  auto pod = mgr->AdoptPod("web");
  ASSERT_FALSE(pod);
  EXPECT_EQ(pod.error().code(), make_error_code(ErrorCode::kNotFound));
  EXPECT_NE(pod.error().ToString().find("pod-web"), std::string::npos);
  EXPECT_EQ(mgr->pod(), std::nullopt);
  // Nothing was taken: removing removes nothing, not even the other pod.
  ASSERT_TRUE(mgr->RemovePod());
  EXPECT_TRUE(tree_.Exists("podshim/pod-other"));
  // And the manager can still make a pod of its own.
  EXPECT_TRUE(mgr->CreatePod("web"));
}

TEST_F(ManagerAdoptTest, AManagerHoldingAPodRefusesToAdoptOne) {
  tree_.MakeCgroup("podshim");
  tree_.MakeCgroup("podshim/pod-old");
  auto created = NewManager();
  ASSERT_TRUE(created->CreatePod("web"));
  auto again = created->AdoptPod("old");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), make_error_code(ErrorCode::kConflict));
  EXPECT_EQ(created->pod(), P("podshim/pod-web"));

  auto adopted = NewManager();
  ASSERT_TRUE(adopted->AdoptPod("old"));
  auto twice = adopted->AdoptPod("web");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), make_error_code(ErrorCode::kConflict));
  auto create = adopted->CreatePod("new");
  ASSERT_FALSE(create);
  EXPECT_EQ(create.error().code(), make_error_code(ErrorCode::kConflict));
  EXPECT_EQ(adopted->pod(), P("podshim/pod-old"));
}

TEST_F(ManagerAdoptTest, AParentSomeoneElseMadeStays) {
  tree_.MakeCgroup("podshim");  // not made (nor marked) by podshim
  tree_.MakeCgroup("podshim/pod-web");
  tree_.MakeCgroup("podshim/pod-web/app-0");
  auto mgr = NewManager();
  ASSERT_TRUE(mgr->AdoptPod("web"));
  ASSERT_TRUE(mgr->RemovePod());
  EXPECT_EQ(Rmdirs(), (Strings{"podshim/pod-web/app-0", "podshim/pod-web"}));
  EXPECT_TRUE(tree_.Exists("podshim"));
}

}  // namespace
}  // namespace podshim::cgroups
