// RunInForkedChild: the step runs in another process, its error comes back with code and
// context, a child that dies is named, and a process the step leaves running (holding the report
// pipe, as a container waiting at its start gate does) does not make the caller wait for it.
#include "common/forked_call.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "gtest/gtest.h"

namespace podshim {
namespace {

TEST(RunInForkedChildTest, TheStepRunsInAnotherProcess) {
  const pid_t caller = ::getpid();
  int touched = 0;
  Status done = RunInForkedChild([&]() -> Status {
    touched = 1;  // the child's copy
    if (::getpid() == caller) return Error::Invalid("ran in the caller");
    return Ok();
  });
  EXPECT_TRUE(done) << done.error().ToString();
  EXPECT_EQ(touched, 0);
}

TEST(RunInForkedChildTest, ErrorsComeBackWithTheirCodeAndContext) {
  Status invalid =
      RunInForkedChild([] { return Status(Error::Invalid("linux.cgroupsPath: bad")); });
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_EQ(invalid.error().context(), "linux.cgroupsPath: bad");

  Status errno_error = RunInForkedChild([] { return Status(Error::Errno(ENOENT, "open /x")); });
  ASSERT_FALSE(errno_error);
  EXPECT_EQ(errno_error.error().code(), std::error_code(ENOENT, std::system_category()));
  EXPECT_EQ(errno_error.error().context(), "open /x");

  Status long_context =
      RunInForkedChild([] { return Status(Error::Invalid(std::string(100'000, 'x'))); });
  ASSERT_FALSE(long_context);
  EXPECT_EQ(long_context.error().context().size(), 16u * 1024);
}

TEST(RunInForkedChildTest, AChildThatDiesIsNamed) {
  Status died = RunInForkedChild([]() -> Status {
    ::raise(SIGKILL);
    return Ok();
  });
  ASSERT_FALSE(died);
  EXPECT_NE(died.error().ToString().find("killed by signal 9"), std::string::npos)
      << died.error().ToString();
}

TEST(RunInForkedChildTest, AProcessLeftRunningByTheStepDoesNotHoldTheCallerUp) {
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  pid_t grandchild_pid = 0;
  int pid_pipe[2];
  ASSERT_EQ(::pipe(pid_pipe), 0);
  const auto start = std::chrono::steady_clock::now();
  Status done = RunInForkedChild([&]() -> Status {
    const pid_t g = ::fork();  // holds every fd of the child, the report pipe included
    if (g == 0) {
      ::alarm(10);  // a caller that waited for the pipe's EOF would be held 10 s, not forever
      char c;
      (void)::read(gate[0], &c, 1);  // until the test lets it go
      ::_exit(0);
    }
    (void)::write(pid_pipe[1], &g, sizeof g);
    return Status(Error::Invalid("after the fork"));
  });
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().context(), "after the fork");
  EXPECT_LT(took, std::chrono::seconds(5));  // a hang check: the report came before the EOF
  ASSERT_EQ(::read(pid_pipe[0], &grandchild_pid, sizeof grandchild_pid), sizeof grandchild_pid);
  (void)::write(gate[1], "x", 1);  // let it exit; it was re-parented away from us: not reaped here
  for (int fd : {gate[0], gate[1], pid_pipe[0], pid_pipe[1]}) ::close(fd);
}

}  // namespace
}  // namespace podshim
