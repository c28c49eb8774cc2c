// `podshim ctl status` when the socket does not answer: a shim that still holds the state dir's
// lock is alive (no "gone" report); once the lock is free the last known state is shown, with the
// note that containers shown running may still run, unsupervised.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/sys.h"
#include "fixtures/fakes/temp_dir.h"
#include "fixtures/run_ctl.h"
#include "shim/cli/commands.h"
#include "shim/record/shim_lock.h"

namespace podshim::shim {
namespace {

using testing::CtlOutput;
using testing::RunCtl;

TEST(CtlShimLockTest, AShimHoldingTheLockIsAliveThenGoneOnceItIsFree) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string socket = (dir.path() / "podshim.sock").string();
  ASSERT_TRUE(sys::WriteFile(dir.path() / "status.json",
                             R"({"name":"web","phase":"Running","initContainerStatuses":[],
                                 "containerStatuses":[{"name":"app","role":"app",
                                 "state":{"running":{}},"restartCount":0,"pid":42}]})")
                  .has_value());
  {
    auto lock = ShimLock::Acquire(dir.path());
    ASSERT_TRUE(lock) << lock.error().ToString();
    CtlOutput alive = RunCtl(dir, {"--socket", socket, "status"});
    EXPECT_EQ(alive.status, 1);
    EXPECT_EQ(alive.out, "");
    EXPECT_NE(alive.err.find("is alive (it holds " + (dir.path() / "podshim.lock").string() +
                             ") but does not answer at " + socket),
              std::string::npos)
        << alive.err;
  }
  CtlOutput gone = RunCtl(dir, {"--socket", socket, "status"});
  EXPECT_EQ(gone.status, 1);
  EXPECT_NE(gone.out.find("the shim is gone"), std::string::npos) << gone.out;
  EXPECT_NE(gone.out.find("may still run, unsupervised, until `podshim run` or `podshim start` "
                          "on this state dir stops them"),
            std::string::npos)
      << gone.out;
}

}  // namespace
}  // namespace podshim::shim
