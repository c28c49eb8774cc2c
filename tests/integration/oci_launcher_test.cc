// LinuxLauncher end to end (root): real busybox bundles launched with clone3, their output read
// from a pipe given as stdout, their exit read with waitid(P_PIDFD). Each test also checks that
// no mount leaked into the host's mount namespace and no child is left.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "common/sys.h"
#include "fixtures/bundle.h"
#include "oci/launch_plan.h"
#include "oci/linux_launcher.h"

namespace podshim::oci {
namespace {

using testing::BusyboxBundle;
using testing::DefaultTestSpec;

std::string HostMountInfo() {
  auto text = sys::ReadFile("/proc/self/mountinfo");
  return text ? *text : "";
}

// Our children, from /proc/self/task/*/children.
std::string Children() {
  std::string out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    auto text = sys::ReadFile(task.path() / "children");
    if (text) out += *text;
  }
  return out;
}

struct Outcome {
  int status = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
};

int WaitStatus(const ProcessHandle& h) {
  siginfo_t info{};
  while (::waitid(P_PIDFD, static_cast<id_t>(h.pidfd()), &info, WEXITED) < 0 && errno == EINTR) {
  }
  return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts)";
    ASSERT_TRUE(bundle_.ok()) << bundle_.error();
    mounts_before_ = HostMountInfo();
  }
  void TearDown() override {
    if (::geteuid() != 0) return;
    EXPECT_EQ(HostMountInfo(), mounts_before_) << "a mount leaked into the host namespace";
    EXPECT_EQ(Children(), "") << "a child process was left behind";
  }

  // Launches spec with stdout/stderr on pipes and waits for the exit.
  Result<Outcome> Run(const Spec& spec, LaunchOptions opts = {}) {
    auto out = PODSHIM_TRY(sys::Pipe());
    auto err = PODSHIM_TRY(sys::Pipe());
    opts.container_id = "t";
    opts.stdout_fd = out.write.get();
    opts.stderr_fd = err.write.get();
    LaunchPlan plan = PODSHIM_TRY(BuildLaunchPlan(spec, bundle_.dir(), std::move(opts)));
    LinuxLauncher launcher;
    ProcessHandle h = PODSHIM_TRY(launcher.Launch(plan));
    out.write.Reset();
    err.write.Reset();
    Outcome o;
    o.out = PODSHIM_TRY(sys::ReadAll(out.read.get()));
    o.err = PODSHIM_TRY(sys::ReadAll(err.read.get()));
    o.status = WaitStatus(h);
    return o;
  }

  Outcome RunOk(const Spec& spec, LaunchOptions opts = {}) {
    auto r = Run(spec, std::move(opts));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().ToString());
    return r ? *r : Outcome{};
  }

  static Spec Sh(const std::string& script) { return DefaultTestSpec({"sh", "-c", script}); }

  // Options of a process that waits at a new exec.fifo in the bundle dir.
  LaunchOptions FifoGated(const std::string& id) {
    const std::filesystem::path fifo = bundle_.dir() / "exec.fifo";
    EXPECT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    LaunchOptions opts;
    opts.container_id = id;
    opts.gate = StartGate::kFifo;
    opts.fifo_path = fifo;
    return opts;
  }

  BusyboxBundle bundle_{PODSHIM_TEST_PROC};
  std::string mounts_before_;
};

TEST_F(LauncherTest, ExitStatusPassesThrough) {
  Outcome o = RunOk(Sh("exit 3"));
  EXPECT_EQ(o.status, 3) << o.err;
}

TEST_F(LauncherTest, DeathBySignalIs128PlusN) {
  // Not pid 1: init of a pid namespace ignores signals it has no handler for.
  Spec spec = Sh("kill -TERM $$; sleep 5");
  std::erase_if(spec.linux_config.namespaces,
                [](const Namespace& ns) { return ns.type == NamespaceType::kPid; });
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.status, 128 + SIGTERM) << o.err;
}

TEST_F(LauncherTest, EnvCwdAndIds) {
  Spec spec = Sh("echo $FOO; pwd; id -u; id -g; id -G; umask");
  spec.process->env.push_back("FOO=bar baz");
  spec.process->cwd = "/tmp";
  spec.process->user.uid = 1000;
  spec.process->user.gid = 1001;
  spec.process->user.additional_gids = {10, 20};
  spec.process->user.umask = 027;
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "bar baz\n/tmp\n1000\n1001\n1001 10 20\n0027\n");
}

TEST_F(LauncherTest, OwnPidNamespaceMakesItPid1) {
  Outcome o = RunOk(Sh("echo $$; cat /proc/1/comm; exit 0"));
  EXPECT_EQ(o.out, "1\nsh\n") << o.err;
}

TEST_F(LauncherTest, UtsNamespaceHasTheSpecHostname) {
  Spec spec = Sh("hostname");
  spec.hostname = "web-1";
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "web-1\n") << o.err;
  char after[256] = {};
  ::gethostname(after, sizeof after - 1);
  EXPECT_STREQ(host, after);
}

TEST_F(LauncherTest, NetworkNamespaceHasOnlyLoopback) {
  Outcome o = RunOk(Sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"));
  EXPECT_EQ(o.out, "lo\n") << o.err;
}

TEST_F(LauncherTest, IpcNamespaceDiffersFromTheHost) {
  std::error_code ec;
  std::string host_ipc = std::filesystem::read_symlink("/proc/self/ns/ipc", ec).string();
  Outcome o = RunOk(Sh("readlink /proc/self/ns/ipc"));
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(o.out.starts_with("ipc:[")) << o.out;
  EXPECT_NE(o.out, host_ipc + "\n");
}

TEST_F(LauncherTest, ReadonlyRootfsRefusesAWrite) {
  Spec spec = Sh("touch /file || echo refused");
  spec.root.readonly = true;
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "refused\n");
  EXPECT_NE(o.err.find("Read-only file system"), std::string::npos) << o.err;
  EXPECT_FALSE(std::filesystem::exists(bundle_.rootfs() / "file"));
}

TEST_F(LauncherTest, MaskedPathsReadEmpty) {
  // A file (/dev/null bound over it) and a directory (an empty read-only tmpfs over it).
  Spec spec = Sh("wc -c < /proc/keys; ls -A /sys/firmware | wc -l");
  spec.linux_config.masked_paths = {"/proc/keys", "/sys/firmware"};
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "0\n0\n") << o.err;
  // Without masking both have content, so the test shows the mask at work.
  Spec unmasked = Sh("wc -c < /proc/keys; ls -A /sys/firmware | wc -l");
  unmasked.linux_config.masked_paths.clear();
  Outcome u = RunOk(unmasked);
  EXPECT_NE(u.out, "0\n0\n") << u.err;
}

TEST_F(LauncherTest, ReadonlyPathRefusesAWrite) {
  Spec spec = Sh("touch /scratch/a && echo wrote; touch /data/b || echo refused");
  spec.mounts.push_back({"/scratch", "tmpfs", "tmpfs", {"size=1m"}});
  spec.mounts.push_back({"/data", "tmpfs", "tmpfs", {"size=1m"}});
  spec.linux_config.readonly_paths.push_back("/data");
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "wrote\nrefused\n");
  EXPECT_NE(o.err.find("Read-only file system"), std::string::npos) << o.err;
}

// podman's default sysctl with runc's default readonlyPaths (/proc/sys among them): the sysctl is
// written before /proc/sys turns read-only, and the container still cannot write it itself.
TEST_F(LauncherTest, SysctlIsWrittenBeforeProcSysTurnsReadOnly) {
  Spec spec =
      Sh("cat /proc/sys/net/ipv4/ping_group_range; echo 1 > /proc/sys/net/ipv4/ip_forward"
         " || echo refused");
  spec.linux_config.sysctl["net.ipv4.ping_group_range"] = "0 0";
  spec.linux_config.readonly_paths.push_back("/proc/sys");
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "0\t0\nrefused\n") << o.err;
}

TEST_F(LauncherTest, CapabilitiesMatchTheSpec) {
  Spec spec = Sh("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status");
  // CAP_KILL = 5, CAP_NET_BIND_SERVICE = 10.
  spec.process->capabilities =
      LinuxCapabilities{{"CAP_KILL", "CAP_NET_BIND_SERVICE"}, {"CAP_KILL"}, {}, {"CAP_KILL"}, {}};
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out,
            "CapInh:\t0000000000000000\nCapPrm:\t0000000000000020\nCapEff:\t0000000000000020\n"
            "CapBnd:\t0000000000000420\nCapAmb:\t0000000000000000\n")
      << o.err;
}

TEST_F(LauncherTest, AmbientCapabilitiesSurviveANonRootUser) {
  Spec spec = Sh("grep -E '^Cap(Eff|Amb)' /proc/self/status");
  spec.process->user.uid = 1000;
  spec.process->user.gid = 1000;
  std::vector<std::string> nbs = {"CAP_NET_BIND_SERVICE"};
  spec.process->capabilities = LinuxCapabilities{nbs, nbs, nbs, nbs, nbs};
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "CapEff:\t0000000000000400\nCapAmb:\t0000000000000400\n") << o.err;
}

TEST_F(LauncherTest, NoNewPrivsIsSet) {
  Outcome o = RunOk(Sh("grep NoNewPrivs /proc/self/status"));
  EXPECT_EQ(o.out, "NoNewPrivs:\t1\n") << o.err;
}

TEST_F(LauncherTest, RlimitIsInForce) {
  Spec spec = Sh("ulimit -n; ulimit -Hn");
  spec.process->rlimits = {{"RLIMIT_NOFILE", RLIMIT_NOFILE, 300, 200}};
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "200\n300\n") << o.err;
}

TEST_F(LauncherTest, OnlyStdioFdsAreOpen) {
  // A descriptor without O_CLOEXEC in the parent must not leak either.
  int leaky = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 0);
  Outcome o = RunOk(DefaultTestSpec({"/test_proc", "print-fds"}));
  ::close(leaky);
  EXPECT_EQ(o.out, "fds 0 1 2\n") << o.err;
}

TEST_F(LauncherTest, ExtraFdsArePlacedFromThree) {
  auto pipe = sys::Pipe();
  ASSERT_TRUE(pipe);
  LaunchOptions opts;
  opts.extra_fds = {pipe->write.get()};
  Outcome o = RunOk(Sh("ls /proc/self/fd | sort -n | tr '\\n' ' '; echo hello >&3"), opts);
  pipe->write.Reset();
  auto got = sys::ReadAll(pipe->read.get());
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "hello\n");
  // ls opens the directory as fd 4.
  EXPECT_EQ(o.out, "0 1 2 3 4 ") << o.err;
}

TEST_F(LauncherTest, SignalMaskIsEmptyAndHandlersDefault) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGCHLD);
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &block, &old), 0);
  // Ignored (SIGPIPE, and SIGRTMIN+3, a real-time one) and caught (SIGUSR2) in the launcher.
  const int rt = SIGRTMIN + 3;
  struct sigaction ign {
  }, caught{}, old_pipe{}, old_rt{}, old_usr2{};
  ign.sa_handler = SIG_IGN;
  caught.sa_handler = [](int) {};
  ::sigaction(SIGPIPE, &ign, &old_pipe);
  ::sigaction(rt, &ign, &old_rt);
  ::sigaction(SIGUSR2, &caught, &old_usr2);
  Outcome o = RunOk(Spec(DefaultTestSpec({"/test_proc", "print-sigmask"})));
  // grep as the process itself: a shell would set up its own dispositions.
  Outcome status = RunOk(DefaultTestSpec({"grep", "-E", "^Sig(Blk|Ign|Cgt)", "/proc/self/status"}));
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::sigaction(rt, &old_rt, nullptr);
  ::sigaction(SIGUSR2, &old_usr2, nullptr);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(o.out, "sigmask 0000000000000000\n") << o.err;
  EXPECT_EQ(status.out,
            "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n")
      << status.err;
}

TEST_F(LauncherTest, SeccompRuleYieldsTheConfiguredErrno) {
  // mkdir is denied with EROFS (30): busybox reports "Read-only file system" for a writable dir.
  Spec spec = Sh("mkdir /tmp/x || echo denied; touch /tmp/y && echo touched");
  LinuxSeccomp seccomp;
  seccomp.default_action = SeccompAction::kAllow;
  SeccompSyscall deny;
  deny.names = {"mkdir", "mkdirat"};
  deny.action = SeccompAction::kErrno;
  deny.errno_ret = EROFS;
  seccomp.syscalls.push_back(deny);
  spec.linux_config.seccomp = seccomp;
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "denied\ntouched\n") << o.err;
  EXPECT_NE(o.err.find("Read-only file system"), std::string::npos) << o.err;
}

TEST_F(LauncherTest, SeccompWithoutNoNewPrivsIsLoadedWhilePrivileged) {
  Spec spec = Sh("mkdir /tmp/x || echo denied; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status");
  spec.process->no_new_privileges = false;
  spec.process->user.uid = 1000;
  LinuxSeccomp seccomp;
  SeccompSyscall deny;
  deny.names = {"mkdir", "mkdirat"};
  deny.action = SeccompAction::kErrno;
  deny.errno_ret = EPERM;
  seccomp.syscalls.push_back(deny);
  spec.linux_config.seccomp = seccomp;
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "denied\nNoNewPrivs:\t0\nSeccomp:\t2\n") << o.err;
}

TEST_F(LauncherTest, FailingStepComesBackWithStepAndErrno) {
  Spec spec = Sh("true");
  spec.process->cwd = "/does/not/exist";
  auto r = Run(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(),
            "container \"t\": chdir /does/not/exist: No such file or directory");
}

TEST_F(LauncherTest, MissingExecutableIsReportedBeforeExec) {
  auto r = Run(DefaultTestSpec({"no-such-program"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(),
            "container \"t\": exec \"no-such-program\": No such file or directory");
}

TEST_F(LauncherTest, FailingMountNamesTheMount) {
  Spec spec = Sh("true");
  spec.mounts.push_back({"/mnt", "nosuchfs", "none", {}});
  auto r = Run(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(), "container \"t\": mount nosuchfs on /mnt: No such device");
}

TEST_F(LauncherTest, FifoGateHoldsTheProcessUntilOpened) {
  auto out = sys::Pipe();
  ASSERT_TRUE(out);
  LaunchOptions opts = FifoGated("t");
  const std::filesystem::path fifo = opts.fifo_path;
  opts.stdout_fd = out->write.get();
  auto plan = BuildLaunchPlan(Sh("echo started"), bundle_.dir(), std::move(opts));
  ASSERT_TRUE(plan) << plan.error().ToString();
  LinuxLauncher launcher;
  auto h = launcher.Launch(*plan);
  ASSERT_TRUE(h) << h.error().ToString();
  out->write.Reset();
  // Not started: nothing written, still alive.
  ASSERT_EQ(::fcntl(out->read.get(), F_SETFL, O_NONBLOCK), 0);
  char c;
  EXPECT_EQ(::read(out->read.get(), &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PIDFD, h->pidfd(), &info, WEXITED | WNOHANG | WNOWAIT), 0);
  EXPECT_EQ(info.si_pid, 0);
  // `start`: open the fifo for reading, read runc's "0".
  auto reader = sys::Open(fifo, O_RDONLY);
  ASSERT_TRUE(reader);
  auto byte = sys::ReadAll(reader->get());
  ASSERT_TRUE(byte);
  EXPECT_EQ(*byte, "0");
  EXPECT_EQ(WaitStatus(*h), 0);
  ASSERT_EQ(::fcntl(out->read.get(), F_SETFL, 0), 0);
  auto got = sys::ReadAll(out->read.get());
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "started\n");
}

// The parent's work during the child's set-up (the device program's load): its error is the
// launch's, prefixed like the child's own, and the child is killed and reaped (TearDown checks).
TEST_F(LauncherTest, AFailingWhileChildSetsUpKillsTheChild) {
  auto plan = BuildLaunchPlan(Sh("true"), bundle_.dir(), FifoGated("t"));
  ASSERT_TRUE(plan) << plan.error().ToString();
  int calls = 0;
  plan->while_child_sets_up = [&calls](pid_t pid) -> Status {
    ++calls;
    // Our child, not yet reaped: its parent is us.
    auto stat = sys::ReadFile("/proc/" + std::to_string(pid) + "/stat");
    EXPECT_TRUE(stat && stat->find(") ") != std::string::npos &&
                std::stol(stat->substr(stat->rfind(") ") + 4)) == ::getpid());
    return Error::Invalid("linux.resources.devices: refused");
  };
  auto h = LinuxLauncher().Launch(*plan);
  ASSERT_FALSE(h);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(h.error().ToString(), "container \"t\": linux.resources.devices: refused");
}

// Without a gate the child may exec as soon as it goes on: the work is done before that, so the
// process sees what it did. The work takes 100 ms, far longer than the child's set-up and exec,
// so done after letting the child go on it would come too late for `cat`.
TEST_F(LauncherTest, WithoutAGateWhileChildSetsUpIsDoneBeforeTheProcessRuns) {
  const std::filesystem::path mark = bundle_.rootfs() / "mark";
  LaunchOptions opts;
  auto out = sys::Pipe();
  ASSERT_TRUE(out);
  opts.container_id = "t";
  opts.stdout_fd = out->write.get();
  auto plan = BuildLaunchPlan(Sh("cat /mark"), bundle_.dir(), std::move(opts));
  ASSERT_TRUE(plan) << plan.error().ToString();
  plan->while_child_sets_up = [&mark](pid_t) -> Status {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ofstream(mark) << "done\n";
    return Ok();
  };
  auto h = LinuxLauncher().Launch(*plan);
  ASSERT_TRUE(h) << h.error().ToString();
  out->write.Reset();
  EXPECT_EQ(WaitStatus(*h), 0);
  auto got = sys::ReadAll(out->read.get());
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "done\n");
}

TEST_F(LauncherTest, NewUserNamespaceWithIdMaps) {
  // Container ids 0-65535 map to the same host ids, so the (host-root-owned) rootfs stays
  // reachable; the maps, the new namespace and root inside it are what is checked.
  std::error_code ec;
  std::string host_userns = std::filesystem::read_symlink("/proc/self/ns/user", ec).string();
  Spec spec = Sh("id -u; cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user");
  spec.linux_config.namespaces.push_back({NamespaceType::kUser, std::nullopt});
  spec.linux_config.uid_mappings = {{0, 0, 65536}};
  spec.linux_config.gid_mappings = {{0, 0, 65536}};
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.status, 0) << o.err;
  const std::string maps = "         0          0      65536\n";
  ASSERT_TRUE(o.out.starts_with("0\n" + maps + maps)) << o.out << o.err;
  EXPECT_NE(o.out.substr(2 + 2 * maps.size()), host_userns + "\n");
}

TEST_F(LauncherTest, JoinsANamespaceByPath) {
  // Join the uts namespace of a first container that waits at its gate.
  LaunchOptions first_opts = FifoGated("first");
  Spec first_spec = Sh("true");
  first_spec.hostname = "shared-uts";
  auto first_plan = BuildLaunchPlan(first_spec, bundle_.dir(), std::move(first_opts));
  ASSERT_TRUE(first_plan) << first_plan.error().ToString();
  LinuxLauncher launcher;
  auto first = launcher.Launch(*first_plan);
  ASSERT_TRUE(first) << first.error().ToString();
  ChildGuard guard(std::move(*first));

  Spec spec = Sh("hostname");
  spec.hostname.reset();
  for (Namespace& ns : spec.linux_config.namespaces) {
    if (ns.type == NamespaceType::kUts) {
      ns.path = "/proc/" + std::to_string(guard.handle().pid()) + "/ns/uts";
    }
  }
  Outcome o = RunOk(spec);
  EXPECT_EQ(o.out, "shared-uts\n") << o.err;
}

}  // namespace
}  // namespace podshim::oci
