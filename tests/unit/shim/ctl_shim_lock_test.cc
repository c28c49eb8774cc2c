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
#include "shim/commands.h"
#include "shim/shim_lock.h"

namespace podshim::shim {
namespace {

struct CtlOutput {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs `podshim ctl ARGS...` in this process with stdout/stderr redirected to files.
CtlOutput RunCtl(const testing::TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "ctl");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  int saved_out = ::dup(1), saved_err = ::dup(2);
  auto out_path = dir.path() / "ctl.out", err_path = dir.path() / "ctl.err";
  FILE* out = std::fopen(out_path.c_str(), "w");
  FILE* err = std::fopen(err_path.c_str(), "w");
  ::dup2(::fileno(out), 1);
  ::dup2(::fileno(err), 2);
  CtlOutput r;
  r.status = RunCtlCommand(static_cast<int>(args.size()), argv.data());
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(saved_out, 1);
  ::dup2(saved_err, 2);
  ::close(saved_out);
  ::close(saved_err);
  std::fclose(out);
  std::fclose(err);
  r.out = sys::ReadFile(out_path).value_or("");
  r.err = sys::ReadFile(err_path).value_or("");
  return r;
}

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
