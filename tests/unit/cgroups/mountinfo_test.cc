#include "cgroups/mountinfo.h"

#include <gtest/gtest.h>

#include "common/sys.h"

namespace podshim::cgroups {
namespace {

std::string Sample(const std::string& name) {
  auto text =
      sys::ReadFile(std::string(PODSHIM_SOURCE_DIR) + "/tests/fixtures/data/mountinfo/" + name);
  EXPECT_TRUE(text) << text.error().ToString();
  return text ? *text : std::string();
}

TEST(MountinfoTest, PureV2HostMountsAtSysFsCgroup) {
  auto m = FindCgroup2Mount(Sample("pure_v2.txt"));
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->mount_point, "/sys/fs/cgroup");
  EXPECT_EQ(m->root, "/");
  EXPECT_FALSE(m->read_only);
}

TEST(MountinfoTest, HybridHostUsesUnified) {
  // Recorded on the development machine: v1 controllers plus a cgroup2 "unified" mount.
  auto m = FindCgroup2Mount(Sample("hybrid_unified.txt"));
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->mount_point, "/sys/fs/cgroup/unified");
  EXPECT_FALSE(m->read_only);
}

TEST(MountinfoTest, V1OnlyHostIsNotFound) {
  auto m = FindCgroup2Mount(Sample("v1_only.txt"));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(m.error().ToString().find("no cgroup2 mount"), std::string::npos);
}

TEST(MountinfoTest, ContainerViewIsReadOnlyWithSubtreeRoot) {
  // Docker: the cgroup2 mount is read-only and shows the container's own subtree; a second
  // cgroup2 mount elsewhere does not win over /sys/fs/cgroup.
  auto m = FindCgroup2Mount(Sample("container_ro_v2.txt"));
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->mount_point, "/sys/fs/cgroup");
  EXPECT_EQ(m->root, "/system.slice/docker-0123abcd.scope");
  EXPECT_TRUE(m->read_only);
}

TEST(MountinfoTest, DecodesOctalEscapesAndFallsBackToFirstMount) {
  auto m = FindCgroup2Mount(
      "618 612 254:1 /x /mnt/my\\040cgroup rw,relatime shared:3 - cgroup2 cgroup2 rw\n"
      "619 612 254:1 / /mnt/other rw,relatime - cgroup2 none ro\n");
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->mount_point, "/mnt/my cgroup");
  EXPECT_FALSE(m->read_only);
}

TEST(MountinfoTest, SuperBlockReadOnlyCounts) {
  auto m = FindCgroup2Mount("619 612 0:40 / /sys/fs/cgroup rw,relatime - cgroup2 none ro\n");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->read_only);
}

TEST(MountinfoTest, MalformedLineNamesItsNumber) {
  auto m = FindCgroup2Mount(
      "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
      "garbage without separator\n");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kInvalidSpec);
  EXPECT_NE(m.error().ToString().find("line 2"), std::string::npos) << m.error().ToString();
}

TEST(MountinfoTest, MalformedLineIsEscapedInTheError) {
  auto m = FindCgroup2Mount("bad\x01line\xff\n");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().ToString().find("got \"bad\\x01line\\xff\""), std::string::npos)
      << m.error().ToString();
}

TEST(MountinfoTest, EmptyTextIsNotFound) {
  auto m = FindCgroup2Mount("");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kNotFound);
}

TEST(MountinfoTest, ReadCgroup2MountNamesTheFile) {
  auto m = ReadCgroup2Mount(std::string(PODSHIM_SOURCE_DIR) +
                            "/tests/fixtures/data/mountinfo/v1_only.txt");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().ToString().find("v1_only.txt"), std::string::npos) << m.error().ToString();
  auto missing = ReadCgroup2Mount("/nonexistent/mountinfo");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), std::errc::no_such_file_or_directory);
}

TEST(MountinfoTest, ThisProcessMountinfoParses) {
  // Whatever this host has, its own mountinfo must parse (found, or cleanly not found).
  auto m = ReadCgroup2Mount();
  if (!m) {
    EXPECT_EQ(m.error().code(), ErrorCode::kNotFound) << m.error().ToString();
  }
}

// A state dir with a space in its path: its volumes' mount points come back as the real path
// (mountinfo writes the space as \040), so a dead shim's volumes are found and unmounted.
TEST(MountinfoTest, MountPointsDecodeOctalEscapesAndSkipMalformedLines) {
  const std::string text =
      "22 1 0:21 / / rw - ext4 /dev/vda rw\n"
      "40 22 0:40 / /tmp/my\\040pod/volumes/cache rw,nosuid - tmpfs tmpfs rw\n"
      "garbage\n"
      "41 22 0:41 / /tmp/tab\\011x rw - tmpfs tmpfs rw";
  EXPECT_EQ(MountPoints(text),
            (std::vector<std::string>{"/", "/tmp/my pod/volumes/cache", "/tmp/tab\tx"}));
}

}  // namespace
}  // namespace podshim::cgroups
