// CompileSeccomp: filters are compiled in the test process and loaded only in forked children
// (a seccomp filter can never be removed), which report what their syscalls returned.
#include "oci/seccomp.h"

#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

#include "common/sys.h"
#include "oci/spec_parse.h"

namespace podshim::oci {
namespace {

// What a forked child saw: its exit status (or signal) and the errnos it wrote to the pipe.
struct ChildOutcome {
  int exit_code = -1;
  int signal = 0;
  std::string report;
};

// Forks; the child sets no_new_privs, loads `program`, runs `body` (which writes a short report
// with ::write only) and exits 0. Load failures exit 100 + errno.
template <class Body>
ChildOutcome RunFiltered(const SeccompProgram& program, Body body) {
  ChildOutcome outcome;
  auto pipe = sys::Pipe();
  EXPECT_TRUE(pipe.has_value());
  if (!pipe) return outcome;
  pid_t pid = ::fork();
  EXPECT_GE(pid, 0);
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ::_exit(99);
    if (int err = LoadSeccompInChild(program)) ::_exit(100 + (err & 0x7f));
    body(pipe->write.get());
    ::_exit(0);
  }
  pipe->write.Reset();
  outcome.report = sys::ReadAll(pipe->read.get()).value_or("");
  int wstatus = 0;
  EXPECT_EQ(::waitpid(pid, &wstatus, 0), pid);
  if (WIFEXITED(wstatus)) outcome.exit_code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) outcome.signal = WTERMSIG(wstatus);
  return outcome;
}

// Writes "<errno or 0> " for one raw syscall result; async-signal-safe enough for the child.
void Report(int fd, long rc) {
  char buf[16];
  int err = rc < 0 ? errno : 0;
  int n = 0;
  char digits[12];
  do {
    digits[n++] = static_cast<char>('0' + err % 10);
    err /= 10;
  } while (err > 0);
  int len = 0;
  while (n > 0) buf[len++] = digits[--n];
  buf[len++] = ' ';
  [[maybe_unused]] ssize_t w = ::write(fd, buf, len);
}

LinuxSeccomp AllowAllBut(std::vector<std::string> names, SeccompAction action,
                         std::optional<uint32_t> errno_ret = std::nullopt) {
  LinuxSeccomp s;
  s.default_action = SeccompAction::kAllow;
  SeccompSyscall sc;
  sc.names = std::move(names);
  sc.action = action;
  sc.errno_ret = errno_ret;
  s.syscalls.push_back(sc);
  return s;
}

TEST(SeccompTest, DeniedSyscallReturnsTheConfiguredErrno) {
  auto program = CompileSeccomp(AllowAllBut({"getpid"}, SeccompAction::kErrno, 42));
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  EXPECT_FALSE(program->filter.empty());
  EXPECT_EQ(program->flags, 0u);
  ChildOutcome out = RunFiltered(*program, [](int fd) {
    Report(fd, ::syscall(SYS_getpid));
    Report(fd, ::syscall(SYS_getppid));
  });
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.report, "42 0 ");
}

TEST(SeccompTest, ErrnoDefaultsToEperm) {
  auto program = CompileSeccomp(AllowAllBut({"getpid"}, SeccompAction::kErrno));
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  ChildOutcome out = RunFiltered(*program, [](int fd) { Report(fd, ::syscall(SYS_getpid)); });
  EXPECT_EQ(out.report, std::to_string(EPERM) + " ");
}

TEST(SeccompTest, DefaultActionErrnoUsesDefaultErrnoRet) {
  LinuxSeccomp s;
  s.default_action = SeccompAction::kErrno;
  s.default_errno_ret = ENOSYS;
  SeccompSyscall allow;
  // What the child needs, plus what sanitizer runtimes call in it (sigaltstack, mmap, ...).
  allow.names = {"write",  "exit_group", "exit",         "getppid",        "sigaltstack",
                 "mmap",   "munmap",     "rt_sigaction", "rt_sigprocmask", "madvise",
                 "gettid", "getpid",     "tgkill",       "futex",          "sched_yield"};
  allow.action = SeccompAction::kAllow;
  s.syscalls.push_back(allow);
  auto program = CompileSeccomp(s);
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  ChildOutcome out = RunFiltered(*program, [](int fd) {
    Report(fd, ::syscall(SYS_getuid));
    Report(fd, ::syscall(SYS_getppid));
  });
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.report, std::to_string(ENOSYS) + " 0 ");
}

TEST(SeccompTest, KillProcessKillsWithSigsys) {
  auto program = CompileSeccomp(AllowAllBut({"getpid"}, SeccompAction::kKillProcess));
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  ChildOutcome out = RunFiltered(*program, [](int fd) {
    Report(fd, ::syscall(SYS_getppid));
    ::syscall(SYS_getpid);
    Report(fd, 0);  // never reached
  });
  EXPECT_EQ(out.signal, SIGSYS);
  EXPECT_EQ(out.report, "0 ");
}

TEST(SeccompTest, ArgumentConditionsAreAnded) {
  LinuxSeccomp s = AllowAllBut({"getpgid"}, SeccompAction::kErrno, 33);
  // Denied only when arg0 == 12345 and arg1 (unused by getpgid) has bit 0x4 set.
  s.syscalls[0].args = {SeccompArg{0, 12345, 0, SeccompOp::kEqualTo},
                        SeccompArg{1, 0x4, 0x4, SeccompOp::kMaskedEqual}};
  auto program = CompileSeccomp(s);
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  ChildOutcome out = RunFiltered(*program, [](int fd) {
    Report(fd, ::syscall(SYS_getpgid, 12345, 0x6));  // both match: denied
    Report(fd, ::syscall(SYS_getpgid, 12345, 0x2));  // mask fails: the kernel says ESRCH
    Report(fd, ::syscall(SYS_getpgid, 0, 0x4));      // arg0 differs: allowed, succeeds
  });
  EXPECT_EQ(out.report, "33 " + std::to_string(ESRCH) + " 0 ");
}

TEST(SeccompTest, ConditionsOnTheSameArgumentAreOred) {
  LinuxSeccomp s = AllowAllBut({"getpgid"}, SeccompAction::kErrno, 33);
  s.syscalls[0].args = {SeccompArg{0, 1000001, 0, SeccompOp::kEqualTo},
                        SeccompArg{0, 1000002, 0, SeccompOp::kEqualTo}};
  auto program = CompileSeccomp(s);
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  ChildOutcome out = RunFiltered(*program, [](int fd) {
    Report(fd, ::syscall(SYS_getpgid, 1000001));
    Report(fd, ::syscall(SYS_getpgid, 1000002));
    Report(fd, ::syscall(SYS_getpgid, 1000003));
  });
  EXPECT_EQ(out.report, "33 33 " + std::to_string(ESRCH) + " ");
}

TEST(SeccompTest, UnknownSyscallNamesAreSkipped) {
  auto program = CompileSeccomp(AllowAllBut(
      {"no_such_syscall_podshim", "getpid", "another_unknown"}, SeccompAction::kErrno, 7));
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  ChildOutcome out = RunFiltered(*program, [](int fd) { Report(fd, ::syscall(SYS_getpid)); });
  EXPECT_EQ(out.report, "7 ");
}

TEST(SeccompTest, RulesEqualToTheDefaultActionAreSkipped) {
  LinuxSeccomp s = AllowAllBut({"getpid"}, SeccompAction::kAllow);
  auto program = CompileSeccomp(s);
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  ChildOutcome out = RunFiltered(*program, [](int fd) { Report(fd, ::syscall(SYS_getpid)); });
  EXPECT_EQ(out.report, "0 ");
}

TEST(SeccompTest, FlagsAreTranslated) {
  LinuxSeccomp s = AllowAllBut({"getpid"}, SeccompAction::kLog);
  s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
             "SECCOMP_FILTER_FLAG_TSYNC"};
  auto program = CompileSeccomp(s);
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  EXPECT_EQ(program->flags,
            static_cast<unsigned>(SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
                                  SECCOMP_FILTER_FLAG_TSYNC));
  ChildOutcome out = RunFiltered(*program, [](int fd) { Report(fd, ::syscall(SYS_getpid)); });
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.report, "0 ");  // SCMP_ACT_LOG allows the call
}

TEST(SeccompTest, UnknownFlagsAndArchitecturesAreEscapedInErrors) {
  LinuxSeccomp s = AllowAllBut({"getpid"}, SeccompAction::kErrno);
  s.flags = {"SECCOMP_\nFLAG\xff"};
  auto flag = CompileSeccomp(s);
  ASSERT_FALSE(flag.has_value());
  EXPECT_NE(flag.error().ToString().find("unknown seccomp flag \"SECCOMP_\\nFLAG\\xff\""),
            std::string::npos)
      << flag.error().ToString();
  s.flags.clear();
  s.architectures = {"SCMP_ARCH_\nX\xff"};
  auto arch = CompileSeccomp(s);
  ASSERT_FALSE(arch.has_value());
  EXPECT_NE(arch.error().ToString().find("\"SCMP_ARCH_\\nX\\xff\" is not supported"),
            std::string::npos)
      << arch.error().ToString();
}

TEST(SeccompTest, ExtraArchitecturesGrowTheFilter) {
  LinuxSeccomp native = AllowAllBut({"getpid"}, SeccompAction::kErrno);
  LinuxSeccomp multi = native;
  multi.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"};
  auto a = CompileSeccomp(native);
  auto b = CompileSeccomp(multi);
  ASSERT_TRUE(a.has_value()) << a.error().ToString();
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  EXPECT_GT(b->filter.size(), a->filter.size());
}

TEST(SeccompTest, NotifyIsUnsupportedWithItsPath) {
  LinuxSeccomp s = AllowAllBut({"getpid"}, SeccompAction::kErrno);
  SeccompSyscall notify;
  notify.names = {"mount"};
  notify.action = SeccompAction::kNotify;
  s.syscalls.push_back(notify);
  auto program = CompileSeccomp(s);
  ASSERT_FALSE(program.has_value());
  EXPECT_EQ(program.error().code(), make_error_code(ErrorCode::kUnsupported));
  EXPECT_EQ(program.error().context(),
            "config.json: linux.seccomp.syscalls[1].action: SCMP_ACT_NOTIFY is not supported (no "
            "listenerPath support)");

  LinuxSeccomp d;
  d.default_action = SeccompAction::kNotify;
  program = CompileSeccomp(d);
  ASSERT_FALSE(program.has_value());
  EXPECT_EQ(program.error().context(),
            "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported (no "
            "listenerPath support)");
}

TEST(SeccompTest, ErrnoRetWithAnotherActionIsInvalid) {
  auto program = CompileSeccomp(AllowAllBut({"getpid"}, SeccompAction::kKillProcess, 1));
  ASSERT_FALSE(program.has_value());
  EXPECT_EQ(program.error().code(), make_error_code(ErrorCode::kInvalidSpec));
  EXPECT_EQ(program.error().context(),
            "config.json: linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or "
            "SCMP_ACT_TRACE");
}

TEST(SeccompTest, ErrnoRetAbove16BitsIsInvalid) {
  auto program = CompileSeccomp(AllowAllBut({"getpid"}, SeccompAction::kErrno, 70000));
  ASSERT_FALSE(program.has_value());
  EXPECT_EQ(program.error().context(),
            "config.json: linux.seccomp.syscalls[0].errnoRet: must be at most 65535");
}

TEST(SeccompTest, WaitKillableRecvNeedsAListener) {
  LinuxSeccomp s = AllowAllBut({"getpid"}, SeccompAction::kErrno);
  s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  auto program = CompileSeccomp(s);
  ASSERT_FALSE(program.has_value());
  EXPECT_EQ(program.error().code(), make_error_code(ErrorCode::kUnsupported));
  EXPECT_EQ(program.error().context().rfind("config.json: linux.seccomp.flags[1]: ", 0), 0u)
      << program.error().context();
}

TEST(SeccompTest, ArchitectureUnknownToLibseccompIsUnsupported) {
  LinuxSeccomp s = AllowAllBut({"getpid"}, SeccompAction::kErrno);
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_NOT_A_REAL_ARCH"};
  auto program = CompileSeccomp(s);
  ASSERT_FALSE(program.has_value());
  EXPECT_EQ(program.error().code(), make_error_code(ErrorCode::kUnsupported));
  EXPECT_EQ(program.error().context(),
            "config.json: linux.seccomp.architectures[1]: \"SCMP_ARCH_NOT_A_REAL_ARCH\" is not "
            "supported by this libseccomp");
}

TEST(SeccompTest, UnknownActionInConfigIsAnErrorWithItsJsonPath) {
  auto spec = ParseSpec(R"({
    "ociVersion": "1.0.2", "root": {"path": "rootfs"},
    "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
      {"names": ["mount"], "action": "SCMP_ACT_DENY"}]}}})");
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().context(),
            "config.json: linux.seccomp.syscalls[1].action: unknown seccomp action "
            "\"SCMP_ACT_DENY\"");
}

TEST(SeccompTest, ParsedConfigCompilesAndDenies) {
  auto spec = ParseSpec(R"({
    "ociVersion": "1.0.2", "root": {"path": "rootfs"},
    "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      "syscalls": [{"names": ["getpid", "gettid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}}})");
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  auto program = CompileSeccomp(*spec->linux_config.seccomp);
  ASSERT_TRUE(program.has_value()) << program.error().ToString();
  ChildOutcome out = RunFiltered(*program, [](int fd) {
    Report(fd, ::syscall(SYS_getpid));
    Report(fd, ::syscall(SYS_gettid));
  });
  EXPECT_EQ(out.report, "13 13 ");
}

TEST(SeccompTest, LoadingWithoutNoNewPrivsOrCapSysAdminIsRefused) {
  auto program = CompileSeccomp(AllowAllBut({"getpid"}, SeccompAction::kErrno));
  ASSERT_TRUE(program.has_value());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Drop CAP_SYS_ADMIN from the effective set; no_new_privs stays off.
    if (::setresuid(65534, 65534, 65534) < 0 && ::geteuid() == 0) ::_exit(98);
    ::_exit(LoadSeccompInChild(*program));
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  if (WEXITSTATUS(wstatus) == 98) GTEST_SKIP() << "cannot drop to an unprivileged uid";
  EXPECT_EQ(WEXITSTATUS(wstatus), EACCES);
}

}  // namespace
}  // namespace podshim::oci
