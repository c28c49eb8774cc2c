// `podshim oci exec` end to end (runc's command line, issue 14 item 3) and --preserve-fds N on
// create, run and exec, with the real binary on busybox bundles (oci_cli_fixture.h).
#include <sys/prctl.h>

#include "oci_cli_fixture.h"

namespace podshim_test {
namespace {

class OciExecCliTest : public OciCliFixture {
 protected:
  // A running container "c" waiting for SIGTERM; returns its pid.
  int RunWaiting(const std::string& id = "c") {
    WriteConfig(kRecordAndWait);
    CmdResult r = Podshim({"run", "-d", "--bundle", bundle_.string(), id});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(Eventually([&] { return fs::exists(shared_ / "ran"); }));
    return State(id)["pid"].get<int>();
  }

  static std::string CgroupLine(int pid) {
    std::string text = ReadText("/proc/" + std::to_string(pid) + "/cgroup");
    size_t at = text.find("0::");
    return at == std::string::npos ? "" : text.substr(at, text.find('\n', at) - at);
  }
};

TEST_F(OciExecCliTest, RunsInTheContainersNamespacesAndPassesTheStatusThrough) {
  RunWaiting();
  // pid 1 of the container's pid namespace is its init (sh); the rootfs is the bundle's.
  CmdResult r =
      Podshim({"exec", "c", "sh", "-c", "echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '; exit 7"});
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_NE(r.out.find("sh -c echo ran"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pid=1\n"), std::string::npos) << r.out;
  CmdResult killed = Podshim({"exec", "c", "sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(killed.status, 128 + SIGKILL);
}

TEST_F(OciExecCliTest, FlagsOverrideTheSpecProcessAsRuncDoes) {
  RunWaiting();
  CmdResult r =
      Podshim({"exec", "-e", "FOO=bar", "--env", "BAZ=1", "-u", "1000:1001", "-g", "7", "-w",
               "/tmp", "--no-new-privs", "c", "sh", "-c",
               "echo $FOO$BAZ; id -u; id -g; id -G; pwd; grep NoNewPrivs /proc/self/status"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "bar1\n1000\n1001\n1001 7\n/tmp\nNoNewPrivs:\t1\n");
  // --cap adds to the bounding, effective and permitted sets (CAP_SYS_ADMIN is bit 21).
  CmdResult caps =
      Podshim({"exec", "--cap", "CAP_SYS_ADMIN", "c", "grep", "CapEff", "/proc/self/status"});
  ASSERT_EQ(caps.status, 0) << caps.err;
  unsigned long long eff = std::stoull(caps.out.substr(caps.out.find('\t') + 1), nullptr, 16);
  EXPECT_NE(eff & (1ULL << 21), 0u) << caps.out;
  CmdResult without = Podshim({"exec", "c", "grep", "CapEff", "/proc/self/status"});
  eff = std::stoull(without.out.substr(without.out.find('\t') + 1), nullptr, 16);
  EXPECT_EQ(eff & (1ULL << 21), 0u) << without.out;
  EXPECT_EQ(Podshim({"exec", "-u", "x", "c", "true"}).status, 1);
}

TEST_F(OciExecCliTest, ProcessFileAndItsErrorsNameTheFile) {
  RunWaiting();
  fs::path file = tmp_ / "process.json";
  std::ofstream(file) << R"({"args": ["sh", "-c", "echo $X; pwd"], "env": ["X=from-file"],
                            "cwd": "/etc", "user": {"uid": 0, "gid": 0}})";
  CmdResult r = Podshim({"exec", "--process", file.string(), "c"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "from-file\n/etc\n");
  std::ofstream(file) << R"({"args": [], "cwd": "/"})";
  CmdResult bad = Podshim({"exec", "-p", file.string(), "c"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find(file.string() + ": process.args: must have at least one entry"),
            std::string::npos)
      << bad.err;
}

TEST_F(OciExecCliTest, DetachedProcessIsOrphanedToTheCallingSubreaper) {
  const int init = RunWaiting();
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  fs::path pid_file = tmp_ / "exec.pid";
  CmdResult r = Podshim({"exec", "-d", "--pid-file", pid_file.string(), "c", "sh", "-c",
                         "echo x > /shared/exec-ran; exit 3"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::string digits = ReadText(pid_file);
  ASSERT_FALSE(digits.empty());
  EXPECT_EQ(digits.find_first_not_of("0123456789"), std::string::npos) << digits;
  pid_t pid = std::stoi(digits);
  int w = 0;
  // podshim has exited: the process is ours (the subreaper) to reap, with its own status.
  EXPECT_EQ(::waitpid(pid, &w, 0), pid);
  EXPECT_EQ(DecodeWait(w), 3);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  EXPECT_TRUE(fs::exists(shared_ / "exec-ran"));
  // It ran in the container's cgroup: a second one, still running, is there.
  r = Podshim({"exec", "-d", "--pid-file", pid_file.string(), "c", "sleep", "5"});
  ASSERT_EQ(r.status, 0) << r.err;
  pid = std::stoi(ReadText(pid_file));
  EXPECT_EQ(CgroupLine(pid), CgroupLine(init));
  ::kill(pid, SIGKILL);
}

TEST_F(OciExecCliTest, ForegroundExecForwardsSigterm) {
  RunWaiting();
  pid_t podshim =
      Spawn({"exec", "c", "sh", "-c",
             "trap 'exit 5' TERM; echo > /shared/trap-set; while :; do sleep 0.05; done"},
            "fwd");
  ASSERT_TRUE(Eventually([&] { return fs::exists(shared_ / "trap-set"); }));
  ASSERT_EQ(::kill(podshim, SIGTERM), 0);
  CmdResult r = Wait(podshim, "fwd");
  EXPECT_EQ(r.status, 5) << r.err;
}

TEST_F(OciExecCliTest, StoppedAndUnknownContainersAreRuncsErrors) {
  CmdResult unknown = Podshim({"exec", "nosuch", "true"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("does not exist"), std::string::npos) << unknown.err;
  WriteConfig("true");
  ASSERT_EQ(Podshim({"create", "--bundle", bundle_.string(), "s"}).status, 0);
  ASSERT_EQ(Podshim({"start", "s"}).status, 0);
  ASSERT_TRUE(Eventually([&] { return State("s")["status"] == "stopped"; }));
  CmdResult stopped = Podshim({"exec", "s", "true"});
  EXPECT_EQ(stopped.status, 1);
  EXPECT_NE(stopped.err.find("cannot exec in a stopped container"), std::string::npos)
      << stopped.err;
  EXPECT_EQ(Podshim({"exec", "s"}).status, 2) << "a command or --process is required";
}

TEST_F(OciExecCliTest, PreserveFdsPassesExactlyTheFirstNFds) {
  // The caller has fds 3, 4 and 5 open; with --preserve-fds 2 the program gets 3 and 4 only.
  const std::vector<std::string> files = {(tmp_ / "fd3").string(), (tmp_ / "fd4").string(),
                                          (tmp_ / "fd5").string()};
  const std::string script =
      "echo three >&3; echo four >&4; if [ -e /proc/self/fd/5 ]; then echo leaked; fi";
  WriteConfig(script);
  CmdResult run =
      Podshim({"run", "--preserve-fds", "2", "--bundle", bundle_.string(), "p"}, {}, files);
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(ReadText(files[0]), "three\n");
  EXPECT_EQ(ReadText(files[1]), "four\n");

  RunWaiting("e");
  CmdResult exec = Podshim({"exec", "--preserve-fds", "2", "e", "sh", "-c", script}, {}, files);
  EXPECT_EQ(exec.status, 0) << exec.err;
  EXPECT_EQ(exec.out, "");
  EXPECT_EQ(ReadText(files[0]), "three\nthree\n");
  EXPECT_EQ(ReadText(files[1]), "four\nfour\n");
  EXPECT_EQ(Podshim({"exec", "--preserve-fds", "x", "e", "true"}).status, 2);
  CmdResult closed = Podshim({"exec", "--preserve-fds", "60", "e", "true"}, {}, files);
  EXPECT_EQ(closed.status, 1);
  EXPECT_NE(closed.err.find("--preserve-fds 60: fd "), std::string::npos) << closed.err;
}

}  // namespace
}  // namespace podshim_test
