// ParseProcStat / ParseProcCgroupV2 on crafted /proc texts (a command with spaces and ')',
// too few fields, field 52 present or not, a hybrid host's cgroup file), and the readers on this
// process and on a zombie child forked for the test.
#include "common/proc_stat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace podshim {
namespace {

using ::testing::HasSubstr;

// A /proc/<pid>/stat line for `comm` with `fields` fields in all (52 on Linux >= 3.5): state S,
// ppid 77, starttime 123456789, exit_code 0x8f00 (exited 143).
std::string StatLine(std::string_view comm, int fields = 52, char state = 'S') {
  std::string line = "4242 (" + std::string(comm) + ") " + state;
  for (int n = 4; n <= fields; ++n) {
    std::string v = std::to_string(n * 10);
    if (n == 4) v = "77";
    if (n == 22) v = "123456789";
    if (n == 52) v = std::to_string(143 << 8);
    line += " " + v;
  }
  return line + "\n";
}

TEST(ParseProcStat, ReadsStatePpidStartTimeAndExitStatus) {
  auto st = ParseProcStat(StatLine("sleep"));
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 77);
  EXPECT_EQ(st->start_ticks, 123456789u);
  ASSERT_TRUE(st->exit_status.has_value());
  EXPECT_TRUE(WIFEXITED(*st->exit_status));
  EXPECT_EQ(WEXITSTATUS(*st->exit_status), 143);
}

TEST(ParseProcStat, CommandWithSpacesAndParentheses) {
  for (std::string_view comm : {"a b", ") S 1 2 3", "x) (y", "((", "))", "", "tab\tand ) Z 9"}) {
    auto st = ParseProcStat(StatLine(comm, 52, 'Z'));
    ASSERT_TRUE(st) << comm << ": " << st.error().ToString();
    EXPECT_EQ(st->state, 'Z') << comm;
    EXPECT_EQ(st->ppid, 77) << comm;
    EXPECT_EQ(st->start_ticks, 123456789u) << comm;
  }
}

TEST(ParseProcStat, WithoutTheTrailingNewline) {
  std::string line = StatLine("sh");
  line.pop_back();
  auto st = ParseProcStat(line);
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(st->start_ticks, 123456789u);
  EXPECT_EQ(st->exit_status, 143 << 8);
}

TEST(ParseProcStat, Field52AbsentOnOldKernels) {
  for (int fields : {22, 44, 51}) {
    auto st = ParseProcStat(StatLine("old", fields));
    ASSERT_TRUE(st) << fields << ": " << st.error().ToString();
    EXPECT_EQ(st->start_ticks, 123456789u) << fields;
    EXPECT_EQ(st->exit_status, std::nullopt) << fields;
  }
}

TEST(ParseProcStat, FewerThan22FieldsIsAnError) {
  for (int fields : {3, 4, 21}) {
    auto st = ParseProcStat(StatLine("short", fields));
    ASSERT_FALSE(st) << fields;
    EXPECT_THAT(st.error().ToString(), HasSubstr("fewer than 22 fields")) << fields;
  }
}

TEST(ParseProcStat, MalformedLinesAreErrors) {
  EXPECT_FALSE(ParseProcStat(""));
  EXPECT_FALSE(ParseProcStat("4242 (no close paren S 1 2"));
  EXPECT_FALSE(ParseProcStat("4242 (x)"));
  std::string bad_state = StatLine("x");
  bad_state.replace(bad_state.find(") S") + 2, 1, "SS");
  auto st = ParseProcStat(bad_state);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().ToString(), HasSubstr("state"));
  std::string bad_ppid = StatLine("x");
  bad_ppid.replace(bad_ppid.find(" 77 "), 4, " 7x ");
  st = ParseProcStat(bad_ppid);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().ToString(), HasSubstr("ppid"));
  std::string bad_start = StatLine("x");
  bad_start.replace(bad_start.find(" 123456789 "), 11, " -123456789 ");
  st = ParseProcStat(bad_start);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().ToString(), HasSubstr("starttime"));
}

TEST(ParseProcCgroupV2, FindsTheUnifiedLineOfAHybridHost) {
  const std::string text =
      "12:memory:/user.slice/user-0.slice\n"
      "11:cpu,cpuacct:/user.slice\n"
      "1:name=systemd:/user.slice/user-0.slice/session-3.scope\n"
      "0::/a/b\n";
  auto path = ParseProcCgroupV2(text);
  ASSERT_TRUE(path) << path.error().ToString();
  EXPECT_EQ(*path, "/a/b");
}

TEST(ParseProcCgroupV2, PureV2WithoutNewlineAndRoot) {
  EXPECT_EQ(*ParseProcCgroupV2("0::/podshim/pod-a/web-0"), "/podshim/pod-a/web-0");
  EXPECT_EQ(*ParseProcCgroupV2("0::/\n"), "/");
}

TEST(ParseProcCgroupV2, NoUnifiedLineIsNotFound) {
  auto path = ParseProcCgroupV2("12:memory:/x\n1:name=systemd:/y\n");
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().code(), make_error_code(ErrorCode::kNotFound));
  EXPECT_FALSE(ParseProcCgroupV2(""));
  // "10::" is a v1 hierarchy without controllers, not the unified one.
  EXPECT_FALSE(ParseProcCgroupV2("10::/z\n"));
}

TEST(ReadProcStat, OfThisProcess) {
  auto st = ReadProcStat(::getpid());
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(st->state, 'R');
  EXPECT_EQ(st->ppid, ::getppid());
  EXPECT_GT(st->start_ticks, 0u);
  // Stable: the same process has the same start time.
  EXPECT_EQ(ReadProcStat(::getpid())->start_ticks, st->start_ticks);
}

TEST(ReadProcStat, OfAZombieChildShowsItsWaitStatus) {
  for (int code : {0, 3, 143}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(code);
    // Wait until it is a zombie without reaping it.
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
    auto st = ReadProcStat(child);
    ASSERT_TRUE(st) << st.error().ToString();
    EXPECT_EQ(st->state, 'Z') << code;
    EXPECT_EQ(st->ppid, ::getpid()) << code;
    EXPECT_GT(st->start_ticks, 0u);
    ASSERT_TRUE(st->exit_status.has_value()) << code;
    EXPECT_TRUE(WIFEXITED(*st->exit_status)) << code;
    EXPECT_EQ(WEXITSTATUS(*st->exit_status), code);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_EQ(status, *st->exit_status) << "the same wait status waitpid reports";
  }
}

TEST(ReadProcStat, OfAChildKilledByASignal) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  auto st = ReadProcStat(child);
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(st->state, 'Z');
  ASSERT_TRUE(st->exit_status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*st->exit_status));
  EXPECT_EQ(WTERMSIG(*st->exit_status), SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
}

TEST(ReadProcStat, OfAGonePidIsAnError) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(ReadProcStat(child));
}

TEST(ReadProcCgroupV2, OfThisProcessMatchesItsCgroupFile) {
  auto path = ReadProcCgroupV2(::getpid());
  ASSERT_TRUE(path) << path.error().ToString();
  EXPECT_TRUE(path->starts_with("/")) << *path;
}

}  // namespace
}  // namespace podshim
