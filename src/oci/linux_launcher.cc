#include "oci/linux_launcher.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "common/sys.h"
#include "oci/child_setup.h"

namespace podshim::oci {
namespace {

std::string Prefix(const LaunchPlan& plan) { return PlanErrorPrefix(plan); }

Error ContainerError(const LaunchPlan& plan, int err, const std::string& what) {
  return Error::Errno(err, Prefix(plan) + ": " + what);
}

// The signals this process ignores, from SigIgn in /proc/self/status (bit n-1: signal n), or all
// of them when that cannot be read. clone3's CLONE_CLEAR_SIGHAND resets the handled ones; the
// child resets these, instead of a sigaction call for each of the 64 signals.
uint64_t IgnoredSignals() {
  auto status = sys::ReadFile("/proc/self/status");
  if (!status) return ~uint64_t{0};
  constexpr std::string_view kField = "\nSigIgn:\t";
  const size_t at = status->find(kField);
  if (at == std::string::npos) return ~uint64_t{0};
  const char* hex = status->c_str() + at + kField.size();
  char* end = nullptr;
  errno = 0;
  const unsigned long long mask = std::strtoull(hex, &end, 16);
  if (errno != 0 || end == hex || *end != '\n') return ~uint64_t{0};
  return mask;
}

// Writes the id maps and oom_score_adj of the stopped-at-"go" child.
Status PrepareChild(const LaunchPlan& plan, pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid) + "/";
  auto write = [&](const std::string& file, const std::string& value) -> Status {
    auto r = sys::WriteFile(proc + file, value);
    if (!r) {
      int err = r.error().code().value();
      std::string what = "write " + proc + file;
      if (file == "oom_score_adj" && (err == EACCES || err == EPERM)) {
        what += " (lowering oom_score_adj needs CAP_SYS_RESOURCE)";
      }
      return ContainerError(plan, err, what);
    }
    return Ok();
  };
  if (!plan.gid_map.empty()) PODSHIM_TRY(write("gid_map", plan.gid_map));
  if (!plan.uid_map.empty()) PODSHIM_TRY(write("uid_map", plan.uid_map));
  if (plan.oom_score_adj) PODSHIM_TRY(write("oom_score_adj", std::to_string(*plan.oom_score_adj)));
  return Ok();
}

// Moves our pid_for_children into another pid namespace for one clone3, and back. Back means
// the namespace /proc/self/ns/pid_for_children named before (normally our own active one): the
// next children of the (single-threaded) caller must land where they did before.
class PidNsSwitch {
 public:
  static Result<PidNsSwitch> Enter(const std::string& target_path) {
    PidNsSwitch s;
    s.own_ = PODSHIM_TRY(sys::Open("/proc/self/ns/pid_for_children", O_RDONLY));
    UniqueFd target = PODSHIM_TRY(sys::Open(target_path, O_RDONLY));
    if (::setns(target.get(), CLONE_NEWPID) < 0) {
      return Error::Errno(errno, "setns pid " + target_path);
    }
    return s;
  }
  PidNsSwitch(PidNsSwitch&&) = default;
  PidNsSwitch& operator=(PidNsSwitch&&) = default;
  ~PidNsSwitch() { (void)Leave(); }

  // Back to the saved namespace; a no-op the second time.
  Status Leave() {
    if (!own_) return Ok();
    int rc = ::setns(own_.get(), CLONE_NEWPID);
    int err = errno;
    own_.Reset();
    if (rc < 0) return Error::Errno(err, "setns back to our own pid namespace");
    return Ok();
  }

 private:
  PidNsSwitch() = default;
  UniqueFd own_;
};

// Reads one ChildReport; std::nullopt at EOF (the child exec'd or died).
Result<std::optional<ChildReport>> ReadReport(int fd) {
  ChildReport report;
  ssize_t n;
  do {
    n = ::recv(fd, &report, sizeof report, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error::Errno(errno, "read child report");
  if (n == 0) return std::optional<ChildReport>();
  if (n != sizeof report) return Error::Errno(EPROTO, "read child report");
  return std::optional<ChildReport>(report);
}

std::string DescribeDeath(int pidfd) {
  siginfo_t info{};
  if (::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOWAIT) < 0) return "";
  if (info.si_code == CLD_EXITED) return " (exit status " + std::to_string(info.si_status) + ")";
  return " (killed by signal " + std::to_string(info.si_status) + ")";
}

// The fds the child needs, opened before the clone: the namespaces it joins (into fds.joins)
// and the exec fifo (fds.fifo). The parent owns them (the returned list) until the child runs.
Result<std::vector<UniqueFd>> OpenChildFds(const LaunchPlan& plan, ChildFds& fds) {
  std::vector<UniqueFd> owned;
  for (size_t i = 0; i < plan.joins.size(); ++i) {
    auto fd = sys::Open(plan.joins[i].path, O_RDONLY);
    if (!fd) return std::move(fd).error().Wrap(Prefix(plan));
    fds.joins[i] = fd->get();
    owned.push_back(std::move(*fd));
  }
  if (plan.gate == StartGate::kFifo) {
    auto fd = sys::Open(plan.fifo_path, O_PATH);
    if (!fd) return std::move(fd).error().Wrap(Prefix(plan) + ": exec fifo");
    fds.fifo = fd->get();
    owned.push_back(std::move(*fd));
  }
  return owned;
}

// The error for a child that reported a failed set-up step.
Error ChildFailure(const LaunchPlan& plan, const ChildReport& report) {
  std::string what = ChildStepName(plan, report.step, report.index);
  const bool mounting = report.step == ChildStep::kRootfsStep ||
                        report.step == ChildStep::kMaskPath ||
                        report.step == ChildStep::kReadonlyPath;
  if (mounting && report.err == ENOSYS) {
    // No silent fallback to mounting on path strings (the CVE-2021-30465 race).
    what +=
        " (mount targets are resolved with openat2 and mounted with open_tree, move_mount"
        " and mount_setattr, which need Linux 5.12 or later)";
  }
  return ContainerError(plan, report.err, what);
}

// Lets the cloned child go on (doing the plan's while_child_sets_up meanwhile) and waits for
// its report: ready at the gate, or, with no gate, the socket's close on execve.
Result<ProcessHandle> ReleaseAndAwait(const LaunchPlan& plan, ChildGuard child, int parent_end) {
  const bool overlap = plan.while_child_sets_up && plan.gate != StartGate::kNone;
  if (plan.while_child_sets_up && !overlap) {  // no gate: the child may exec once it goes on
    PODSHIM_TRY_WRAP(plan.while_child_sets_up(child.handle().pid()), Prefix(plan));
  }
  if (::send(parent_end, "g", 1, MSG_NOSIGNAL) != 1) {
    return ContainerError(plan, errno, "signal the child to go on");
  }
  if (overlap) PODSHIM_TRY_WRAP(plan.while_child_sets_up(child.handle().pid()), Prefix(plan));
  auto report = ReadReport(parent_end);
  if (!report) return std::move(report).error().Wrap(Prefix(plan));
  if (!*report) {
    // EOF. With no gate the socket closed on a successful execve (a failing child always
    // reports first). With the fifo gate "ready" comes before any execve: the child died.
    if (plan.gate == StartGate::kNone) return std::move(child).Release();
    return ContainerError(plan, ECHILD,
                          "the process died during set-up" + DescribeDeath(child.handle().pidfd()));
  }
  if ((*report)->kind == ChildReportKind::kFailed) return ChildFailure(plan, **report);
  return std::move(child).Release();
}

}  // namespace

LinuxLauncher::LinuxLauncher()
    : warn_([](const std::string& text) {
        std::fprintf(stderr, "podshim: warning: %s\n", text.c_str());
      }) {}

Result<ProcessHandle> LinuxLauncher::Launch(const LaunchPlan& plan) {
  if (plan.joins.size() > ChildFds::kMaxJoins) {
    return Error::Domain(ErrorCode::kUnsupported, Prefix(plan) + ": too many namespaces to join");
  }
  ChildFds fds;
  if (plan.terminal) {
    if (plan.terminal->socket_fd < 0) {
      return Error::Invalid(Prefix(plan) + ": a terminal needs a console socket");
    }
    fds.console = plan.terminal->socket_fd;
  }
  // Closed in the parent once the child has its copies.
  std::vector<UniqueFd> owned = PODSHIM_TRY(OpenChildFds(plan, fds));
  if (!plan.pid_ns_path.empty() && (plan.clone_flags & CLONE_NEWPID)) {
    return Error::Invalid(Prefix(plan) + ": a pid namespace cannot be both created and joined");
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    return ContainerError(plan, errno, "socketpair");
  }
  UniqueFd parent_end(sv[0]);
  UniqueFd child_end(sv[1]);
  fds.sync = child_end.get();

  fds.ignored_signals = IgnoredSignals();

  int pidfd = -1;
  struct clone_args args {};
  args.flags = CLONE_PIDFD | CLONE_CLEAR_SIGHAND | plan.clone_flags;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (plan.cgroup_dir_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(plan.cgroup_dir_fd);
  }
  // Said here, in the parent: the child never fails for what the plan tolerated.
  if (warn_) {
    for (const std::string& w : plan.warnings) warn_(w);
  }
  std::optional<PidNsSwitch> pid_ns;
  if (!plan.pid_ns_path.empty()) {
    pid_ns = PODSHIM_TRY_WRAP(PidNsSwitch::Enter(plan.pid_ns_path), Prefix(plan));
  }
  // Without a stack, clone3 behaves like fork: the child continues here on a copy of our stack.
  // glibc's fork bookkeeping (atfork handlers, malloc locks) is skipped, which is why the child
  // only makes raw syscalls on the prepared plan.
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  const int clone_err = errno;
  if (pid == 0) RunChild(plan, fds);
  // Back in our own pid namespace before anything else can fail or fork (the guard would also
  // do it on return, but a failure to go back must be reported).
  Status back = pid_ns ? pid_ns->Leave() : Status(Ok());
  if (pid < 0) {
    // The kernel refuses new processes in a pid namespace whose init has exited.
    const bool dead_ns = pid_ns && clone_err == ENOMEM;
    return ContainerError(plan, clone_err,
                          dead_ns ? "clone3 into " + plan.pid_ns_path + " (has its init exited?)"
                                  : std::string("clone3"));
  }

  ChildGuard child(ProcessHandle(static_cast<pid_t>(pid), UniqueFd(pidfd)));
  if (!back) return std::move(back).error().Wrap(Prefix(plan));
  child_end.Reset();
  owned.clear();

  PODSHIM_TRY(PrepareChild(plan, static_cast<pid_t>(pid)));
  return ReleaseAndAwait(plan, std::move(child), parent_end.get());
}

}  // namespace podshim::oci
