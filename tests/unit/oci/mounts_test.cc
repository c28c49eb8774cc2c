// mounts.h: mount option parsing, rootfs propagation, lexical container paths, and the
// RootfsSteps planned for mounts and default devices.
#include "oci/mounts.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <string>

namespace podshim::oci {
namespace {

TEST(ParseMountOptionsTest, SplitsFlagsPropagationBindAndData) {
  MountOptions o = ParseMountOptions({"nosuid", "noexec", "ro", "mode=755", "rprivate", "size=1m"});
  EXPECT_EQ(o.flags, MS_NOSUID | MS_NOEXEC | MS_RDONLY);
  EXPECT_EQ(o.propagation, MS_PRIVATE | MS_REC);
  EXPECT_FALSE(o.bind);
  EXPECT_EQ(o.data, "mode=755,size=1m");
}

TEST(ParseMountOptionsTest, LaterOptionsClearEarlierOnes) {
  MountOptions o = ParseMountOptions({"ro", "nosuid", "rw", "suid", "rbind"});
  EXPECT_EQ(o.flags, 0u);
  EXPECT_TRUE(o.bind);
  EXPECT_TRUE(o.recursive_bind);
  EXPECT_EQ(o.data, "");
}

TEST(ParseRootfsPropagationTest, DefaultsToRslaveAndRejectsUnknown) {
  EXPECT_EQ(*ParseRootfsPropagation("", "f"), MS_SLAVE | MS_REC);
  EXPECT_EQ(*ParseRootfsPropagation("private", "f"), MS_PRIVATE);
  EXPECT_EQ(*ParseRootfsPropagation("rshared", "f"), MS_SHARED | MS_REC);
  auto bad = ParseRootfsPropagation("sideways", "linux.rootfsPropagation");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().ToString(), "linux.rootfsPropagation: unknown propagation \"sideways\"");
}

TEST(CleanContainerPathTest, PathsAreCleanedLexically) {
  EXPECT_EQ(*CleanContainerPath("/a/./b//c/../d", "f"), "/a/b/d");
  EXPECT_EQ(*CleanContainerPath("/", "f"), "/");
  EXPECT_EQ(*CleanContainerPath("/a/..", "f"), "/");
}

TEST(CleanContainerPathTest, DotDotAboveRootIsRefused) {
  auto r = CleanContainerPath("/a/../../etc", "mounts[3].destination");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(),
            "mounts[3].destination: \"/a/../../etc\" escapes the root filesystem");
}

TEST(CleanContainerPathTest, SymlinksAreLeftForTheChild) {
  // Planning never reads the rootfs: a link there is resolved (inside the root) at mount time,
  // so a path through one is cleaned like any other.
  EXPECT_EQ(*CleanContainerPath("/hostile/x", "f"), "/hostile/x");
}

Spec SpecWithMounts(std::vector<Mount> mounts) {
  Spec s;
  s.mounts = std::move(mounts);
  return s;
}

TEST(PlanRootfsStepsTest, MountsBecomeStepsUnderTheRootfs) {
  Spec spec = SpecWithMounts({
      {"/proc", "proc", "proc", {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "mode=755", "size=65536k"}},
      {"/data", "", "data", {"rbind", "ro", "nosuid", "rslave"}},
  });
  auto steps = PlanRootfsSteps(spec, {"/b", false});
  ASSERT_TRUE(steps) << steps.error().ToString();
  ASSERT_GE(steps->size(), 3u);
  const RootfsStep& proc = (*steps)[0];
  EXPECT_EQ(proc.op, RootfsOp::kMount);
  EXPECT_EQ(proc.target, "/proc");
  EXPECT_EQ(proc.fstype, "proc");
  EXPECT_EQ(proc.description, "mount proc on /proc");
  const RootfsStep& dev = (*steps)[1];
  EXPECT_EQ(dev.flags, MS_NOSUID);
  EXPECT_EQ(dev.data, "mode=755,size=65536k");
  const RootfsStep& data = (*steps)[2];
  EXPECT_EQ(data.op, RootfsOp::kBind);
  EXPECT_EQ(data.source, "/b/data");  // relative to the bundle
  EXPECT_TRUE(data.recursive);
  EXPECT_EQ(data.remount_flags, MS_RDONLY | MS_NOSUID);
  EXPECT_EQ(data.propagation, MS_SLAVE | MS_REC);
  EXPECT_EQ(data.description, "rbind /b/data on /data");
}

TEST(PlanRootfsStepsTest, ACgroupMountIsTheUnifiedHierarchy) {
  // `runc spec` writes type "cgroup"; podshim is a cgroup v2 runtime and mounts cgroup2 there.
  auto steps = PlanRootfsSteps(
      SpecWithMounts({{"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "ro"}}}), {"/b", false});
  ASSERT_TRUE(steps) << steps.error().ToString();
  const RootfsStep& cg = (*steps)[0];
  EXPECT_EQ(cg.op, RootfsOp::kMount);
  EXPECT_EQ(cg.fstype, "cgroup2");
  EXPECT_EQ(cg.source, "cgroup2");
  EXPECT_EQ(cg.flags, MS_NOSUID | MS_RDONLY);
  EXPECT_EQ(cg.description, "mount cgroup2 on /sys/fs/cgroup");
}

TEST(PlanRootfsStepsTest, DefaultDevicesAndLinksFollowTheMounts) {
  auto steps = PlanRootfsSteps(SpecWithMounts({}), {"/b", false});
  ASSERT_TRUE(steps);
  ASSERT_GE(steps->size(), 6u);
  EXPECT_EQ((*steps)[0].op, RootfsOp::kMknod);
  EXPECT_EQ((*steps)[0].target, "/dev/null");
  EXPECT_EQ((*steps)[0].mode, static_cast<mode_t>(S_IFCHR | 0666));
  EXPECT_EQ((*steps)[0].dev, makedev(1, 3));
  EXPECT_EQ((*steps)[5].target, "/dev/tty");
  bool ptmx_link = false;
  for (const RootfsStep& s : *steps) {
    if (s.op == RootfsOp::kSymlink && s.target == "/dev/ptmx") {
      ptmx_link = s.source == "pts/ptmx";
    }
  }
  EXPECT_TRUE(ptmx_link);
}

TEST(PlanRootfsStepsTest, InAUserNamespaceDevicesAreBoundFromTheHost) {
  auto steps = PlanRootfsSteps(SpecWithMounts({}), {"/b", true});
  ASSERT_TRUE(steps);
  EXPECT_EQ((*steps)[1].op, RootfsOp::kBind);
  EXPECT_EQ((*steps)[1].source, "/dev/zero");
  EXPECT_EQ((*steps)[1].target, "/dev/zero");
}

TEST(PlanRootfsStepsTest, ABindMountedDevGetsNoDefaultDevices) {
  auto steps =
      PlanRootfsSteps(SpecWithMounts({{"/dev", "bind", "/dev", {"rbind"}}}), {"/b", false});
  ASSERT_TRUE(steps);
  EXPECT_EQ(steps->size(), 1u);
}

TEST(PlanRootfsStepsTest, LinuxDevicesAreCreatedWithTheirModeAndOwner) {
  Spec spec;
  spec.linux_config.devices.push_back({"c", "/dev/fuse", 10, 229, 0600, 1000, 1000});
  auto steps = PlanRootfsSteps(spec, {"/b", false});
  ASSERT_TRUE(steps);
  const RootfsStep& fuse = (*steps)[6];
  EXPECT_EQ(fuse.target, "/dev/fuse");
  EXPECT_EQ(fuse.mode, static_cast<mode_t>(S_IFCHR | 0600));
  EXPECT_EQ(fuse.dev, makedev(10, 229));
  EXPECT_EQ(fuse.uid, 1000u);
}

TEST(PlanRootfsStepsTest, BadMountsNameTheField) {
  auto escape = PlanRootfsSteps(
      SpecWithMounts({{"/proc", "proc", "proc", {}}, {"/../../etc", "tmpfs", "tmpfs", {}}}),
      {"/b", false});
  ASSERT_FALSE(escape);
  EXPECT_EQ(escape.error().ToString(),
            "mounts[1].destination: \"/../../etc\" escapes the root filesystem");
  auto relative = PlanRootfsSteps(SpecWithMounts({{"proc", "proc", "proc", {}}}), {"/b", false});
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().ToString(), "mounts[0].destination: \"proc\" is not an absolute path");
  auto no_source = PlanRootfsSteps(SpecWithMounts({{"/x", "bind", "", {"bind"}}}), {"/b", false});
  ASSERT_FALSE(no_source);
  EXPECT_EQ(no_source.error().ToString(), "mounts[0].source: required for a bind mount");
}

}  // namespace
}  // namespace podshim::oci
