#include "shim/record/shim_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sys.h"
#include "fixtures/fakes/temp_dir.h"

namespace podshim::shim {
namespace {

bool Held(const std::filesystem::path& dir) {
  Result<bool> held = ShimHoldsLock(dir);
  EXPECT_TRUE(held) << held.error().ToString();
  return held && *held;
}

TEST(ShimClaim, FormatsAsOneJsonLineAndParsesBack) {
  ShimClaim c{1234, "/sys/fs/cgroup/podshim/pod-web", 98765};
  const std::string text = FormatShimClaim(c);
  EXPECT_EQ(text, R"({"pid":1234,"cgroup":"/sys/fs/cgroup/podshim/pod-web","cgroupInode":98765})"
                  "\n");
  EXPECT_EQ(ParseShimClaim(text), c);
}

TEST(ShimClaim, AnythingElseIsNoClaim) {
  EXPECT_EQ(ParseShimClaim(""), std::nullopt);  // the holder ended cleanly
  EXPECT_EQ(ParseShimClaim("{\"pid\":1,\"cgroup\":\"/x\""), std::nullopt);  // torn
  EXPECT_EQ(ParseShimClaim(R"({"pid":1,"cgroup":"rel/x","cgroupInode":2})"), std::nullopt);
  EXPECT_EQ(ParseShimClaim(R"({"pid":1,"cgroup":"/x","cgroupInode":-2})"), std::nullopt);
  EXPECT_EQ(ParseShimClaim(R"({"pid":"1","cgroup":"/x","cgroupInode":2})"), std::nullopt);
}

TEST(ShimLock, OneHolderAtATimeAndTheClaimOutlivesIt) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  EXPECT_FALSE(Held(dir.path()));  // no file yet
  {
    auto first = ShimLock::Acquire(dir.path());
    ASSERT_TRUE(first) << first.error().ToString();
    EXPECT_EQ(first->previous(), std::nullopt);
    ASSERT_TRUE(first->Record({42, "/sys/fs/cgroup/p/pod-a", 7}));
    // Another open file description (as another process would have) cannot take it.
    auto second = ShimLock::Acquire(dir.path());
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), ErrorCode::kConflict);
    EXPECT_NE(second.error().ToString().find("a shim already runs"), std::string::npos);
    EXPECT_TRUE(Held(dir.path()));
  }
  // The holder is gone (its fd closed, as when a process dies): the next one sees its claim.
  EXPECT_FALSE(Held(dir.path()));
  auto next = ShimLock::Acquire(dir.path());
  ASSERT_TRUE(next) << next.error().ToString();
  ASSERT_TRUE(next->previous());
  EXPECT_EQ(next->previous()->pid, 42);
  ASSERT_TRUE(next->Clear());
  EXPECT_EQ(sys::ReadFile(dir.path() / "podshim.lock").value_or("?"), "");
}

TEST(ShimLock, AHolderThatDiesReleasesIt) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    auto lock = ShimLock::Acquire(dir.path());
    char c = lock ? 'y' : 'n';
    (void)::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(c, 'y');
  EXPECT_TRUE(Held(dir.path()));
  EXPECT_FALSE(ShimLock::Acquire(dir.path()));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(Held(dir.path()));
  EXPECT_TRUE(ShimLock::Acquire(dir.path()));
}

}  // namespace
}  // namespace podshim::shim
