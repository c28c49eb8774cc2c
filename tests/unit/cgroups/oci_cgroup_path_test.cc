#include "cgroups/oci_cgroup_path.h"

#include <gtest/gtest.h>

namespace podshim::cgroups {
namespace {

std::string Resolve(std::string_view path, std::string_view id = "c1") {
  auto r = ResolveOciCgroupsPath(path, id);
  return r ? r->str() : "ERROR: " + r.error().ToString();
}

TEST(OciCgroupPathTest, AbsoluteAndRelativePathsAreUnderTheMountRoot) {
  EXPECT_EQ(Resolve("/podshim/c1"), "podshim/c1");
  EXPECT_EQ(Resolve("podshim/c1"), "podshim/c1");
  EXPECT_EQ(Resolve("/a/b/c/"), "a/b/c");
  EXPECT_EQ(Resolve("/libpod_parent/libpod-abc"), "libpod_parent/libpod-abc");
}

TEST(OciCgroupPathTest, NoEscapeWithDotDot) {
  EXPECT_NE(Resolve("/a/../../etc").find("ERROR"), std::string::npos);
  EXPECT_NE(Resolve("../x").find("ERROR"), std::string::npos);
  EXPECT_NE(Resolve("/a/./b").find("ERROR"), std::string::npos);
  EXPECT_NE(Resolve("/a//b").find("ERROR"), std::string::npos);
  auto r = ResolveOciCgroupsPath("/a/../b", "c1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("linux.cgroupsPath"), std::string::npos);
}

TEST(OciCgroupPathTest, TheRootItselfIsRefused) {
  EXPECT_NE(Resolve("/").find("cgroup2 root"), std::string::npos);
}

TEST(OciCgroupPathTest, AbsentMeansTheIdAtTheRoot) {
  EXPECT_EQ(Resolve("", "web"), "web");
  EXPECT_NE(Resolve("", "..").find("ERROR"), std::string::npos);
}

TEST(OciCgroupPathTest, SystemdFormBecomesSliceAndScope) {
  EXPECT_EQ(Resolve("system.slice:libpod:abc"), "system.slice/libpod-abc.scope");
  EXPECT_EQ(Resolve("machine.slice:crio:123"), "machine.slice/crio-123.scope");
  EXPECT_EQ(Resolve(":docker:xyz"), "system.slice/docker-xyz.scope");  // default slice
  EXPECT_EQ(Resolve("system.slice::xyz"), "system.slice/xyz.scope");   // no prefix
  EXPECT_EQ(Resolve("-.slice:p:n"), "p-n.scope");                      // the root slice
}

TEST(OciCgroupPathTest, NestedSlicesExpandAtEachDash) {
  EXPECT_EQ(Resolve("a-b.slice:p:n"), "a.slice/a-b.slice/p-n.scope");
  EXPECT_EQ(Resolve("kubepods-burstable-pod1.slice:cri-containerd:c"),
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
            "cri-containerd-c.scope");
  auto slice = ExpandSystemdSlice("user-1000.slice");
  ASSERT_TRUE(slice);
  EXPECT_EQ(slice->str(), "user.slice/user-1000.slice");
}

TEST(OciCgroupPathTest, ANameEndingInSliceIsTheUnitItself) {
  EXPECT_EQ(Resolve("system.slice:ignored:inner.slice"), "system.slice/inner.slice");
}

TEST(OciCgroupPathTest, BadSystemdFormsNameTheField) {
  for (std::string_view bad : {"a--b.slice:p:n", "-a.slice:p:n", "a-.slice:p:n", "abc:p:n",
                               ".slice:p:n", "system.slice:p:"}) {
    auto r = ResolveOciCgroupsPath(bad, "c1");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().ToString().find("linux.cgroupsPath"), std::string::npos) << bad;
  }
  auto r = ResolveSystemdCgroupsPath("a:b");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().ToString().find("slice:prefix:name"), std::string::npos);
}

TEST(OciCgroupPathTest, AColonPathWithASlashIsAPath) { EXPECT_EQ(Resolve("/a:b:c/d"), "a:b:c/d"); }

TEST(OciCgroupPathTest, SystemdFormIsTwoColonsWithoutASlash) {
  EXPECT_TRUE(IsSystemdCgroupsPath("kubepods-besteffort-pod1.slice:cri-containerd:abc"));
  EXPECT_TRUE(IsSystemdCgroupsPath("::abc"));
  for (std::string_view path :
       {"", "/k8s.io/abc", "/kubepods/burstable/pod1/abc", "/a:b:c/d", "a:b", "a:b:c:d"}) {
    EXPECT_FALSE(IsSystemdCgroupsPath(path)) << path;
  }
}

}  // namespace
}  // namespace podshim::cgroups
