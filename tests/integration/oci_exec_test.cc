// BuildExecPlan + LinuxLauncher end to end (root): a busybox container is launched and waits in
// `/test_proc pause`; processes exec'd into it are checked from the host side (/proc/<pid>/ns,
// NSpid, cgroup) and from the inside (ids, env, cwd, capabilities, rootfs). Every process started
// is reaped; each test also checks that our own pid_for_children is what it was, no mount leaked
// and no child is left.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/sys.h"
#include "fixtures/bundle.h"
#include "oci/exec_plan.h"
#include "oci/launch_plan.h"
#include "oci/linux_launcher.h"

namespace podshim::oci {
namespace {

using testing::BusyboxBundle;
using testing::DefaultTestSpec;

constexpr const char* kUnifiedRoot = "/sys/fs/cgroup/unified";

std::string ReadText(const std::filesystem::path& path) {
  auto text = sys::ReadFile(path);
  return text ? *text : "";
}

std::string Link(const std::string& path) {
  std::error_code ec;
  std::string target = std::filesystem::read_symlink(path, ec).string();
  return ec ? "error: " + ec.message() : target;
}

std::string NsLink(pid_t pid, const std::string& name) {
  return Link("/proc/" + std::to_string(pid) + "/ns/" + name);
}

// The line of /proc/<pid>/status that starts with `key` ("NSpid:"), without the key.
std::string StatusField(pid_t pid, const std::string& key) {
  std::string status = ReadText("/proc/" + std::to_string(pid) + "/status");
  size_t at = status.find("\n" + key);
  if (at == std::string::npos) return "";
  at += 1 + key.size();
  size_t end = status.find('\n', at);
  std::string value = status.substr(at, end - at);
  while (!value.empty() && (value.front() == '\t' || value.front() == ' ')) value.erase(0, 1);
  return value;
}

// Our children, from /proc/self/task/*/children.
std::string Children() {
  std::string out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    out += ReadText(task.path() / "children");
  }
  return out;
}

int WaitStatus(const ProcessHandle& h) {
  siginfo_t info{};
  while (::waitid(P_PIDFD, static_cast<id_t>(h.pidfd()), &info, WEXITED) < 0 && errno == EINTR) {
  }
  return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

// One line from a pipe, byte by byte (so nothing after it is consumed).
std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

struct Outcome {
  int status = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
};

// An exec'd process still running: its stdin is ours to close, its stdout ours to read.
struct Running {
  ChildGuard child;
  UniqueFd stdin_w;
  UniqueFd stdout_r;
  UniqueFd stderr_r;

  pid_t pid() const { return child.handle().pid(); }
  // Closes stdin (a `read x` in the script returns) and waits.
  Outcome Finish() {
    stdin_w.Reset();
    Outcome o;
    o.out = sys::ReadAll(stdout_r.get()).value_or("");
    o.err = sys::ReadAll(stderr_r.get()).value_or("");
    o.status = WaitStatus(child.handle());
    (void)std::move(child).Release();
    return o;
  }
};

class ExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts)";
    ASSERT_TRUE(bundle_.ok()) << bundle_.error();
    ASSERT_TRUE(sys::WriteFile(bundle_.rootfs() / "only-in-rootfs", "rootfs marker\n"));
    mounts_before_ = ReadText("/proc/self/mountinfo");
    pid_ns_before_ = Link("/proc/self/ns/pid_for_children");
  }
  void TearDown() override {
    if (::geteuid() != 0) return;
    container_.reset();  // SIGKILL and reap
    EXPECT_EQ(Link("/proc/self/ns/pid_for_children"), pid_ns_before_);
    EXPECT_EQ(ReadText("/proc/self/mountinfo"), mounts_before_)
        << "a mount leaked into the host namespace";
    EXPECT_EQ(Children(), "") << "a child process was left behind";
  }

  // The spec of the container: non-root user with three capabilities, extra env, a cwd, runc's
  // defaults otherwise.
  static Spec ContainerSpec() {
    Spec spec = DefaultTestSpec({"/test_proc", "pause"});
    spec.process->env.push_back("FOO=from the spec");
    spec.process->cwd = "/tmp";
    spec.process->user.uid = 1000;
    spec.process->user.gid = 1001;
    spec.process->user.additional_gids = {10, 20};
    spec.process->user.umask = 027;
    // Ambient too, so a non-root process keeps them in CapEff after execve.
    std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    spec.process->capabilities = LinuxCapabilities{caps, caps, caps, caps, caps};
    return spec;
  }

  // Launches the container's init; it runs until TearDown.
  void StartContainer(const Spec& spec) {
    spec_ = spec;
    LaunchOptions opts;
    opts.container_id = "web";
    auto plan = BuildLaunchPlan(spec_, bundle_.dir(), std::move(opts));
    ASSERT_TRUE(plan) << plan.error().ToString();
    auto h = launcher_.Launch(*plan);
    ASSERT_TRUE(h) << h.error().ToString();
    container_.emplace(std::move(*h));
  }
  pid_t container_pid() const { return container_->handle().pid(); }

  ExecOptions Opts(std::vector<std::string> argv) const {
    ExecOptions opts;
    opts.container_id = "web";
    opts.container_pid = container_ ? container_pid() : -1;
    opts.argv = std::move(argv);
    return opts;
  }

  // Starts an exec'd process with its stdio on pipes.
  Result<Running> Start(ExecOptions opts) {
    auto in = PODSHIM_TRY(sys::Pipe());
    auto out = PODSHIM_TRY(sys::Pipe());
    auto err = PODSHIM_TRY(sys::Pipe());
    opts.stdin_fd = in.read.get();
    opts.stdout_fd = out.write.get();
    opts.stderr_fd = err.write.get();
    LaunchPlan plan = PODSHIM_TRY(BuildExecPlan(spec_, opts));
    ProcessHandle h = PODSHIM_TRY(launcher_.Launch(plan));
    return Running{ChildGuard(std::move(h)), std::move(in.write), std::move(out.read),
                   std::move(err.read)};
  }
  Result<Outcome> Exec(ExecOptions opts) {
    Running r = PODSHIM_TRY(Start(std::move(opts)));
    return r.Finish();
  }
  Outcome ExecOk(std::vector<std::string> argv) {
    auto r = Exec(Opts(std::move(argv)));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().ToString());
    return r ? *r : Outcome{};
  }
  static std::vector<std::string> Sh(const std::string& script) { return {"sh", "-c", script}; }

  BusyboxBundle bundle_{PODSHIM_TEST_PROC};
  LinuxLauncher launcher_;
  Spec spec_;
  std::optional<ChildGuard> container_;
  std::string mounts_before_;
  std::string pid_ns_before_;
};

TEST_F(ExecTest, JoinsEveryNamespaceOfTheContainer) {
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  auto r = Start(Opts(Sh("echo started; read x; exit 0")));
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(ReadLine(r->stdout_r.get()), "started");
  for (const char* ns : {"mnt", "pid", "net", "ipc", "uts", "cgroup"}) {
    EXPECT_EQ(NsLink(r->pid(), ns), NsLink(container_pid(), ns)) << ns;
    // The container's namespaces are its own: the check above is not trivially true.
    EXPECT_NE(NsLink(container_pid(), ns), NsLink(::getpid(), ns)) << ns;
  }
  // No user namespace in the spec: both stay in ours.
  EXPECT_EQ(NsLink(r->pid(), "user"), NsLink(::getpid(), "user"));
  Outcome o = r->Finish();
  EXPECT_EQ(o.status, 0) << o.err;
}

TEST_F(ExecTest, SeesTheContainersRootfs) {
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  ASSERT_FALSE(std::filesystem::exists("/only-in-rootfs"));
  Outcome o = ExecOk(Sh("cat /only-in-rootfs; readlink /proc/1/exe"));
  EXPECT_EQ(o.status, 0) << o.err;
  // /proc is the container's own: its pid 1 is the container's init.
  EXPECT_EQ(o.out, "rootfs marker\n/test_proc\n") << o.err;
}

TEST_F(ExecTest, GetsASmallPidInTheContainersPidNamespace) {
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  auto r = Start(Opts(Sh("echo $$; read x; exit 0")));
  ASSERT_TRUE(r) << r.error().ToString();
  const std::string inner = ReadLine(r->stdout_r.get());
  // Two levels: the host's pid, then the one in the container's namespace.
  EXPECT_EQ(StatusField(r->pid(), "NSpid:"), std::to_string(r->pid()) + "\t" + inner);
  EXPECT_EQ(StatusField(container_pid(), "NSpid:"), std::to_string(container_pid()) + "\t1");
  const int n = std::stoi(inner.empty() ? "0" : inner);
  EXPECT_GT(n, 1);
  EXPECT_LT(n, 100);
  Outcome o = r->Finish();
  EXPECT_EQ(o.status, 0) << o.err;
}

TEST_F(ExecTest, UserEnvAndCwdComeFromTheSpec) {
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  Outcome o = ExecOk(Sh("id -u; id -g; id -G; echo $FOO; pwd; umask"));
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "1000\n1001\n1001 10 20\nfrom the spec\n/tmp\n0027\n") << o.err;
}

TEST_F(ExecTest, CapabilitiesAndNoNewPrivsMatchTheContainer) {
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  Outcome o = ExecOk({"grep", "-E", "^(CapEff|CapBnd|NoNewPrivs):", "/proc/self/status"});
  EXPECT_EQ(o.status, 0) << o.err;
  // grep prints in file order: NoNewPrivs comes after the Cap lines.
  EXPECT_EQ(o.out, "CapEff:\t" + StatusField(container_pid(), "CapEff:") + "\nCapBnd:\t" +
                       StatusField(container_pid(), "CapBnd:") + "\nNoNewPrivs:\t1\n")
      << o.err;
  // CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE: the spec's three, not root's full set.
  EXPECT_EQ(StatusField(container_pid(), "CapEff:"), "0000000020000420");
}

TEST_F(ExecTest, SeccompFilterOfTheSpecApplies) {
  Spec spec = ContainerSpec();
  LinuxSeccomp seccomp;
  seccomp.default_action = SeccompAction::kAllow;
  SeccompSyscall deny;
  deny.names = {"mkdir", "mkdirat"};
  deny.action = SeccompAction::kErrno;
  deny.errno_ret = EROFS;
  seccomp.syscalls.push_back(deny);
  spec.linux_config.seccomp = seccomp;
  ASSERT_NO_FATAL_FAILURE(StartContainer(spec));
  Outcome o =
      ExecOk(Sh("mkdir /tmp/x 2>/dev/null || echo denied; grep ^Seccomp: /proc/self/status"));
  EXPECT_EQ(o.out, "denied\nSeccomp:\t2\n") << o.err;
}

TEST_F(ExecTest, ExitCodeIsPropagated) {
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  Outcome o = ExecOk(Sh("exit 7"));
  EXPECT_EQ(o.status, 7) << o.err;
}

TEST_F(ExecTest, DeathBySignalIs128PlusN) {
  // Not the namespace's init: a signal with no handler kills it.
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  Outcome o = ExecOk(Sh("kill -TERM $$; sleep 5"));
  EXPECT_EQ(o.status, 128 + SIGTERM) << o.err;
}

TEST_F(ExecTest, MissingBinaryIsALaunchError) {
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  auto r = Exec(Opts({"nope"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().ToString(),
            "exec in container \"web\": exec \"nope\": No such file or directory");
}

TEST_F(ExecTest, AnExitedContainerIsAClearError) {
  Spec spec = ContainerSpec();
  spec.process->args = {"true"};
  ASSERT_NO_FATAL_FAILURE(StartContainer(spec));
  const pid_t gone = container_pid();
  EXPECT_EQ(WaitStatus(container_->handle()), 0);
  (void)std::move(*container_).Release();
  container_.reset();
  ExecOptions opts = Opts({"true"});
  opts.container_pid = gone;
  auto r = Exec(opts);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().ToString().starts_with("exec in container \"web\": "))
      << r.error().ToString();
  EXPECT_NE(r.error().ToString().find("/proc/" + std::to_string(gone) + "/ns/"), std::string::npos)
      << r.error().ToString();
}

TEST_F(ExecTest, LandsInTheGivenCgroup) {
  struct statfs fs {};
  if (::statfs(kUnifiedRoot, &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    GTEST_SKIP() << "no cgroup2 mount at " << kUnifiedRoot;
  }
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  const std::string name = "podshim-itest-exec-" + std::to_string(::getpid());
  const std::filesystem::path dir = std::filesystem::path(kUnifiedRoot) / name;
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir << ": " << std::strerror(errno);
  {
    auto dir_fd = sys::Open(dir, O_RDONLY | O_DIRECTORY);
    ASSERT_TRUE(dir_fd) << dir_fd.error().ToString();
    ExecOptions opts = Opts(Sh("echo started; read x; exit 0"));
    opts.cgroup_dir_fd = dir_fd->get();
    auto r = Start(opts);
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(ReadLine(r->stdout_r.get()), "started");
    EXPECT_EQ(ReadText(dir / "cgroup.procs"), std::to_string(r->pid()) + "\n");
    const std::string cgroups = ReadText("/proc/" + std::to_string(r->pid()) + "/cgroup");
    EXPECT_NE(cgroups.find("0::/" + name + "\n"), std::string::npos) << cgroups;
    Outcome o = r->Finish();
    EXPECT_EQ(o.status, 0) << o.err;
  }
  // Reaped, so empty; the kernel may need a moment to drop the exited task.
  int rc = -1;
  for (int i = 0; i < 50 && rc != 0; ++i) {
    rc = ::rmdir(dir.c_str());
    if (rc != 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(rc, 0) << "rmdir " << dir << ": " << std::strerror(errno);
}

TEST_F(ExecTest, AFailedCloneLeavesOurPidNamespaceAlone) {
  // A directory fd that is not a cgroup: clone3 fails after the launcher entered the
  // container's pid namespace, which must be undone (TearDown checks pid_for_children too).
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  auto not_cgroup = sys::Open(bundle_.dir(), O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(not_cgroup);
  ExecOptions opts = Opts({"true"});
  opts.cgroup_dir_fd = not_cgroup->get();
  auto r = Exec(opts);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().ToString().starts_with("exec in container \"web\": clone3: "))
      << r.error().ToString();
  EXPECT_EQ(Link("/proc/self/ns/pid_for_children"), pid_ns_before_);
  // And the next exec works, in the right namespace.
  Outcome o = ExecOk(Sh("echo $$"));
  EXPECT_NE(o.out, "1\n");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(Link("/proc/self/ns/pid_for_children"), pid_ns_before_);
}

TEST_F(ExecTest, JoinsTheContainersUserNamespace) {
  // Identity maps keep the host-root-owned rootfs reachable; what is checked is the join.
  Spec spec = ContainerSpec();
  spec.linux_config.namespaces.push_back({NamespaceType::kUser, std::nullopt});
  spec.linux_config.uid_mappings = {{0, 0, 65536}};
  spec.linux_config.gid_mappings = {{0, 0, 65536}};
  ASSERT_NO_FATAL_FAILURE(StartContainer(spec));
  auto r = Start(Opts(Sh("id -u; read x; exit 0")));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(ReadLine(r->stdout_r.get()), "1000");
  EXPECT_EQ(NsLink(r->pid(), "user"), NsLink(container_pid(), "user"));
  EXPECT_NE(NsLink(container_pid(), "user"), NsLink(::getpid(), "user"));
  EXPECT_EQ(NsLink(r->pid(), "mnt"), NsLink(container_pid(), "mnt"));
  Outcome o = r->Finish();
  EXPECT_EQ(o.status, 0) << o.err;
}

TEST_F(ExecTest, JoinsTheContainersTimeNamespace) {
  // setns() of a time namespace moves the (single-threaded) caller itself, so the child joins it.
  if (!std::filesystem::exists("/proc/self/ns/time")) GTEST_SKIP() << "no time namespaces";
  Spec spec = ContainerSpec();
  spec.linux_config.namespaces.push_back({NamespaceType::kTime, std::nullopt});
  ASSERT_NO_FATAL_FAILURE(StartContainer(spec));
  ASSERT_NE(NsLink(container_pid(), "time"), NsLink(::getpid(), "time"));
  Outcome o = ExecOk({"readlink", "/proc/self/ns/time"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, NsLink(container_pid(), "time") + "\n") << o.err;
}

TEST_F(ExecTest, ANewContainerCanJoinAnExistingPidNamespace) {
  // BuildLaunchPlan with a pid namespace path: the same parent-side switch as exec.
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  Spec second = DefaultTestSpec(
      {"sh", "-c", "echo $$; readlink /proc/self/ns/pid; tr '\\0' ' ' < /proc/1/cmdline"});
  for (Namespace& ns : second.linux_config.namespaces) {
    if (ns.type == NamespaceType::kPid)
      ns.path = "/proc/" + std::to_string(container_pid()) + "/ns/pid";
  }
  auto out = sys::Pipe();
  ASSERT_TRUE(out);
  LaunchOptions opts;
  opts.container_id = "second";
  opts.stdout_fd = out->write.get();
  auto plan = BuildLaunchPlan(second, bundle_.dir(), std::move(opts));
  ASSERT_TRUE(plan) << plan.error().ToString();
  auto h = launcher_.Launch(*plan);
  ASSERT_TRUE(h) << h.error().ToString();
  ChildGuard guard(std::move(*h));
  out->write.Reset();
  auto got = sys::ReadAll(out->read.get());
  ASSERT_TRUE(got);
  EXPECT_EQ(WaitStatus(guard.handle()), 0);
  (void)std::move(guard).Release();
  // Not pid 1, in the first container's pid namespace, whose init its own /proc (a new mount
  // namespace) shows.
  EXPECT_TRUE(got->ends_with("\n" + NsLink(container_pid(), "pid") + "\n/test_proc pause "))
      << *got;
  EXPECT_FALSE(got->starts_with("1\n")) << *got;
}

TEST_F(ExecTest, APidNamespaceWhoseInitExitedIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(StartContainer(ContainerSpec()));
  // An open fd keeps the namespace reachable (as /proc/self/fd/N) after its init is gone.
  auto ns_fd = sys::Open("/proc/" + std::to_string(container_pid()) + "/ns/pid", O_RDONLY);
  ASSERT_TRUE(ns_fd);
  container_.reset();  // SIGKILL and reap
  const std::string path = "/proc/self/fd/" + std::to_string(ns_fd->get());
  Spec spec = DefaultTestSpec({"true"});
  for (Namespace& ns : spec.linux_config.namespaces) {
    if (ns.type == NamespaceType::kPid) ns.path = path;
  }
  LaunchOptions opts;
  opts.container_id = "late";
  auto plan = BuildLaunchPlan(spec, bundle_.dir(), std::move(opts));
  ASSERT_TRUE(plan) << plan.error().ToString();
  auto h = launcher_.Launch(*plan);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().ToString(), "container \"late\": clone3 into " + path +
                                      " (has its init exited?): Cannot allocate memory");
}

}  // namespace
}  // namespace podshim::oci
