// The pure pieces of the task room: containerd's rootfs mount options, exit statuses and
// timestamps, podshim's errors as gRPC codes.
#include <signal.h>
#include <sys/mount.h>

#include "gtest/gtest.h"
#include "shim/task/rootfs_mounts.h"
#include "shim/task/rpc_errors.h"
#include "shim/task/task_exit.h"

namespace podshim::shim::task {
namespace {

using ttrpc::Code;

TEST(RootfsMountTest, OverlayOptionsAreDataAndFlagWordsAreFlags) {
  auto c = PlanRootfsMount(
      {"overlay",
       "overlay",
       {"index=off", "lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "nosuid", "nodev", "ro"}},
      "rootfs[0]");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->fstype, "overlay");
  EXPECT_EQ(c->data, "index=off,lowerdir=/a:/b,upperdir=/u,workdir=/w");
  EXPECT_EQ(c->flags, static_cast<unsigned long>(MS_NOSUID | MS_NODEV | MS_RDONLY));
  EXPECT_FALSE(c->remount_readonly);  // not a bind: MS_RDONLY works on the first call
  EXPECT_EQ(c->propagation, 0u);
}

TEST(RootfsMountTest, BindReadOnlyNeedsARemountAndRwClearsRo) {
  auto c = PlanRootfsMount({"bind", "/src", {"rbind", "ro", "noexec"}}, "rootfs[0]");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY | MS_NOEXEC));
  EXPECT_TRUE(c->remount_readonly);
  auto rw = PlanRootfsMount({"none", "/src", {"bind", "ro", "rw"}}, "rootfs[0]");
  ASSERT_TRUE(rw);
  EXPECT_EQ(rw->flags, static_cast<unsigned long>(MS_BIND));
  EXPECT_FALSE(rw->remount_readonly);
  auto p = PlanRootfsMount({"bind", "/src", {"rbind", "rprivate"}}, "rootfs[0]");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
}

TEST(RootfsMountTest, RefusalsNameTheField) {
  auto loop = PlanRootfsMount({"ext4", "/img", {"loop"}}, "rootfs[1]");
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().ToString().rfind("rootfs[1].options", 0), 0u) << loop.error().ToString();
  auto no_type = PlanRootfsMount({"", "/x", {}}, "rootfs[0]");
  ASSERT_FALSE(no_type);
  EXPECT_EQ(no_type.error().ToString(), "rootfs[0].type: required");
  auto no_source = PlanRootfsMount({"bind", "", {"rbind"}}, "rootfs[0]");
  ASSERT_FALSE(no_source);
  auto huge =
      PlanRootfsMount({"overlay", "overlay", {"lowerdir=" + std::string(5000, 'a')}}, "rootfs[0]");
  ASSERT_FALSE(huge);
  EXPECT_EQ(CodeOf(huge.error()), Code::kUnimplemented);
}

TEST(RootfsMountTest, UnmountingWhatIsNotMountedSucceeds) {
  EXPECT_TRUE(UnmountRootfs("/nonexistent/podshim/rootfs"));
}

TEST(ExitStatusTest, TimestampSplitsSecondsAndNanos) {
  podshim::wire::Timestamp ts;
  SetTimestamp(WallTime(std::chrono::nanoseconds(1'700'000'000'123'456'789)), &ts);
  EXPECT_EQ(ts.seconds(), 1'700'000'000);
  EXPECT_EQ(ts.nanos(), 123'456'789);
}

TEST(RpcErrorsTest, PodshimErrorsMapOntoGrpcCodes) {
  EXPECT_EQ(CodeOf(Error::Invalid("x")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(Error::Domain(ErrorCode::kUnsupported, "x")), Code::kUnimplemented);
  EXPECT_EQ(CodeOf(Error::Domain(ErrorCode::kNotFound, "x")), Code::kNotFound);
  EXPECT_EQ(CodeOf(Error::Domain(ErrorCode::kConflict, "x")), Code::kFailedPrecondition);
  EXPECT_EQ(CodeOf(Error::Domain(ErrorCode::kTimeout, "x")), Code::kDeadlineExceeded);
  EXPECT_EQ(CodeOf(Error::Errno(ESRCH, "x")), Code::kNotFound);
  EXPECT_EQ(CodeOf(Error::Errno(ENOENT, "x")), Code::kNotFound);
  EXPECT_EQ(CodeOf(Error::Errno(EEXIST, "x")), Code::kAlreadyExists);
  EXPECT_EQ(CodeOf(Error::Errno(EPERM, "x")), Code::kPermissionDenied);
  EXPECT_EQ(CodeOf(Error::Errno(EIO, "x")), Code::kUnknown);
  auto e = ToRpcError(Error::Errno(ENOENT, "open /b/config.json"));
  EXPECT_EQ(e.message, "open /b/config.json: No such file or directory");
}

}  // namespace
}  // namespace podshim::shim::task
