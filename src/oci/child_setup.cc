#include "oci/child_setup.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/quoted.h"
#include "oci/child_mounts.h"
#include "oci/console.h"
#include "oci/rootfs_resolve.h"
#include "oci/seccomp.h"

// Everything between here and ChildStepName runs in the child after clone3: only syscalls and
// reads of the const plan. std::string::c_str(), std::vector::size()/operator[] do not allocate.
namespace podshim::oci {
namespace {

struct Child {
  const LaunchPlan& plan;
  ChildFds fds;
  bool ready_sent = false;

  size_t Len(const char* s) const {
    size_t n = 0;
    while (s[n]) ++n;
    return n;
  }
  void WriteStderr(const char* s) const { (void)!::write(STDERR_FILENO, s, Len(s)); }

  const char* StepLiteral(ChildStep step) const {
    switch (step) {
      case ChildStep::kStartGate:
        return "open exec fifo";
      case ChildStep::kSeccomp:
        return "seccomp";
      case ChildStep::kExec:
        return "exec";
      default:
        return "set-up";
    }
  }

  [[noreturn]] void Fail(ChildStep step, int32_t index, int err) const {
    if (!ready_sent && fds.sync >= 0) {
      ChildReport r{ChildReportKind::kFailed, step, index, err};
      (void)!::write(fds.sync, &r, sizeof r);
    } else {
      // After "ready" nobody reads the socket: say it on the container's own stderr.
      WriteStderr("podshim: container \"");
      WriteStderr(plan.container_id.c_str());
      WriteStderr("\": ");
      WriteStderr(StepLiteral(step));
      if (step == ChildStep::kExec && plan.argv.size() > 0) {
        WriteStderr(" ");
        WriteStderr(plan.argv.data()[0]);
      }
      WriteStderr(": ");
      const char* desc = ::strerrordesc_np(err);
      WriteStderr(desc ? desc : "unknown error");
      WriteStderr("\n");
    }
    ::_exit(127);
  }

  void ResetSignals() const {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG && sig <= 64; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      if (!(fds.ignored_signals & (uint64_t{1} << (sig - 1)))) continue;  // already SIG_DFL
      (void)::sigaction(sig, &dfl, nullptr);  // EINVAL for glibc's internal signals: fine
    }
    sigset_t empty;
    ::sigemptyset(&empty);
    if (::sigprocmask(SIG_SETMASK, &empty, nullptr) < 0) Fail(ChildStep::kSignals, -1, errno);
  }

  void WaitForGo() const {
    char go = 0;
    ssize_t n;
    do {
      n = ::read(fds.sync, &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(127);  // the parent is gone or gave up
  }

  // In a new user namespace our host ids are unmapped until we take ids of the namespace (as
  // runc does): without that, devpts and friends refuse with EOVERFLOW.
  void BecomeUserNsRoot() const {
    if (!(plan.clone_flags & CLONE_NEWUSER)) return;
    if (::syscall(SYS_setresgid, 0, 0, 0) < 0) Fail(ChildStep::kUserNsRoot, -1, errno);
    if (::syscall(SYS_setresuid, 0, 0, 0) < 0) Fail(ChildStep::kUserNsRoot, -1, errno);
  }

  // Moves our own fds out of the way, installs stdio at 0-2 and extras at 3.., and marks every
  // other fd close-on-exec (our own ones stay usable until execve).
  void SetUpFds() {
    const int wanted = 3 + static_cast<int>(plan.extra_fds.size());
    auto relocate = [&](int& fd) {
      if (fd < 0 || fd >= wanted) return;
      int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, wanted);
      if (moved < 0) Fail(ChildStep::kFds, fd, errno);
      fd = moved;
    };
    relocate(fds.sync);
    relocate(fds.fifo);
    relocate(fds.console);
    for (int& j : fds.joins) relocate(j);
    // Copy every source above `wanted` first, so installing one never clobbers another.
    int sources[3 + 64];
    if (wanted > static_cast<int>(sizeof sources / sizeof sources[0])) {
      Fail(ChildStep::kFds, -1, EMFILE);
    }
    for (int i = 0; i < wanted; ++i) {
      int src = i < 3 ? (plan.stdio[i] >= 0 ? plan.stdio[i] : i) : plan.extra_fds[i - 3];
      sources[i] = ::fcntl(src, F_DUPFD_CLOEXEC, wanted);
      if (sources[i] < 0) Fail(ChildStep::kFds, i, errno);
    }
    for (int i = 0; i < wanted; ++i) {
      if (::dup2(sources[i], i) < 0) Fail(ChildStep::kFds, i, errno);  // clears FD_CLOEXEC
      ::close(sources[i]);
    }
    if (::syscall(SYS_close_range, wanted, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
      Fail(ChildStep::kFds, -1, errno);
    }
  }

  void JoinNamespaces() {
    for (size_t i = 0; i < plan.joins.size(); ++i) {
      if (::setns(fds.joins[i], plan.joins[i].clone_flag) < 0) {
        Fail(ChildStep::kSetns, static_cast<int32_t>(i), errno);
      }
      ::close(fds.joins[i]);
      fds.joins[i] = -1;
    }
  }

  void SetNames() const {
    if (plan.hostname && ::sethostname(plan.hostname->c_str(), plan.hostname->size()) < 0) {
      Fail(ChildStep::kHostname, -1, errno);
    }
    if (plan.domainname && ::setdomainname(plan.domainname->c_str(), plan.domainname->size()) < 0) {
      Fail(ChildStep::kDomainname, -1, errno);
    }
  }

  // runc's pivot_root(".", ".") dance: no temporary directory for the old root is needed.
  int PivotRoot() const {
    int new_root = ::open(plan.rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (new_root < 0) return errno;
    int old_root = ::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    int err = 0;
    if (old_root < 0) {
      err = errno;
    } else if (::fchdir(new_root) < 0 || ::syscall(SYS_pivot_root, ".", ".") < 0 ||
               ::fchdir(old_root) < 0) {
      err = errno;
      // The old root stacked on "/": keep unmounting it from affecting the host, then drop it.
    } else if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0 ||
               ::umount2(".", MNT_DETACH) < 0 || ::chdir("/") < 0) {
      err = errno;
    }
    ::close(new_root);
    if (old_root >= 0) ::close(old_root);
    return err;
  }

  void RunRootfsSteps(int root_fd) const {
    for (size_t i = 0; i < plan.rootfs_steps.size(); ++i) {
      if (int e = RunRootfsStep(root_fd, plan.rootfs_steps[i])) {
        Fail(ChildStep::kRootfsStep, static_cast<int32_t>(i), e);
      }
    }
  }

  // No mount namespace of its own: the steps mount in the runtime's, then chroot (runc, crun).
  void ChrootRootfs() const {
    int root_fd = ::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) Fail(ChildStep::kChroot, -1, errno);
    RunRootfsSteps(root_fd);
    ::close(root_fd);
    if (::chroot(plan.rootfs.c_str()) < 0 || ::chdir("/") < 0) Fail(ChildStep::kChroot, -1, errno);
  }

  void SetUpRootfs() const {
    if (plan.chroot_rootfs) return ChrootRootfs();
    // Slave whatever the spec asks: nothing mounted during set-up reaches the host, and an
    // `unbindable` or `shared` spec does not stop the bind and pivot_root. The spec's
    // propagation goes on the container's root mount once it is "/" (below).
    if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
      Fail(ChildStep::kRootPropagation, -1, errno);
    }
    if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      Fail(ChildStep::kRootfsBind, -1, errno);
    }
    // Opened after the self-bind: lookups from it see the mounts the steps stack on it.
    int root_fd = ::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) Fail(ChildStep::kRootfsBind, -1, errno);
    RunRootfsSteps(root_fd);
    ::close(root_fd);
    if (int e = PivotRoot()) Fail(ChildStep::kPivotRoot, -1, e);
    if (::mount(nullptr, "/", nullptr, plan.rootfs_propagation, nullptr) < 0) {
      Fail(ChildStep::kRootPropagation, -1, errno);
    }
    // After pivot_root the root is the container's: the same resolution, from "/".
    root_fd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) Fail(ChildStep::kPivotRoot, -1, errno);
    // Before readonlyPaths, which usually holds /proc/sys (runc's order).
    WriteSysctls();
    for (size_t i = 0; i < plan.readonly_paths.size(); ++i) {
      if (int e = ReadonlyPath(root_fd, plan.readonly_paths[i].c_str())) {
        Fail(ChildStep::kReadonlyPath, static_cast<int32_t>(i), e);
      }
    }
    for (size_t i = 0; i < plan.masked_paths.size(); ++i) {
      if (int e = MaskPath(root_fd, plan.masked_paths[i].c_str())) {
        Fail(ChildStep::kMaskPath, static_cast<int32_t>(i), e);
      }
    }
    ::close(root_fd);
    if (plan.readonly_rootfs) {
      if (int e = RemountBind("/", MS_RDONLY)) Fail(ChildStep::kReadonlyRootfs, -1, e);
    }
  }

  void WriteSysctls() const {
    for (size_t i = 0; i < plan.sysctls.size(); ++i) {
      const SysctlStep& s = plan.sysctls[i];
      int fd = ::open(s.path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) Fail(ChildStep::kSysctl, static_cast<int32_t>(i), errno);
      ssize_t n = ::write(fd, s.value.data(), s.value.size());
      int err = errno;
      ::close(fd);
      if (n != static_cast<ssize_t>(s.value.size())) {
        Fail(ChildStep::kSysctl, static_cast<int32_t>(i), n < 0 ? err : EIO);
      }
    }
  }

  void SetRlimits() const {
    for (size_t i = 0; i < plan.rlimits.size(); ++i) {
      const RlimitStep& r = plan.rlimits[i];
      if (::prlimit(0, static_cast<__rlimit_resource>(r.resource), &r.limit, nullptr) < 0) {
        Fail(ChildStep::kRlimit, static_cast<int32_t>(i), errno);
      }
    }
  }

  // A new pty as stdio and controlling terminal, its master sent to the console socket.
  void SetUpConsole() {
    int32_t step = -1;
    if (int e = SetUpConsoleInChild(*plan.terminal, fds.console, plan.uid, &step)) {
      Fail(ChildStep::kConsole, step, e);
    }
    fds.console = -1;  // closed
  }

  void LoadSeccomp() const {
    if (int e = LoadSeccompInChild(*plan.seccomp)) Fail(ChildStep::kSeccomp, -1, e);
  }

  // Bounding set, keep-caps, ids, then the capability sets (runc's order).
  void SetUserAndCaps() const {
    const bool caps = plan.capabilities.has_value();
    if (caps) {
      // Up to the kernel's last cap, read by the parent: no PR_CAPBSET_READ probe per cap.
      for (int cap = 0; cap <= plan.capabilities->last_cap; ++cap) {
        if (plan.capabilities->bounding & (1ULL << cap)) continue;
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) Fail(ChildStep::kBoundingSet, cap, errno);
      }
      if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) Fail(ChildStep::kKeepCaps, -1, errno);
    }
    // Raw syscalls: glibc's set*id wrappers broadcast to every thread glibc believes exists
    // (setxid); after a raw clone3 that bookkeeping belongs to the parent.
    if (::syscall(SYS_setgroups, plan.additional_gids.size(), plan.additional_gids.data()) < 0) {
      Fail(ChildStep::kSetgroups, -1, errno);
    }
    if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) < 0) {
      Fail(ChildStep::kSetresgid, -1, errno);
    }
    if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) < 0) {
      Fail(ChildStep::kSetresuid, -1, errno);
    }
    if (!caps) return;
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) Fail(ChildStep::kKeepCaps, -1, errno);
    const CapabilityMasks& m = *plan.capabilities;
    struct __user_cap_header_struct header {};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    struct __user_cap_data_struct data[2]{};
    for (int w = 0; w < 2; ++w) {
      data[w].effective = static_cast<uint32_t>(m.effective >> (32 * w));
      data[w].permitted = static_cast<uint32_t>(m.permitted >> (32 * w));
      data[w].inheritable = static_cast<uint32_t>(m.inheritable >> (32 * w));
    }
    if (::syscall(SYS_capset, &header, data) < 0) Fail(ChildStep::kCapset, -1, errno);
    for (int cap = 0; cap < 64; ++cap) {
      if (!(m.ambient & (1ULL << cap))) continue;
      if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
        Fail(ChildStep::kAmbient, cap, errno);
      }
    }
  }

  // Index into plan.exec_candidates of the first regular, executable file.
  size_t FindExecutable() const {
    int err = ENOENT;
    for (size_t i = 0; i < plan.exec_candidates.size(); ++i) {
      const char* path = plan.exec_candidates[i].c_str();
      struct stat st;
      if (::stat(path, &st) < 0) continue;
      if (!S_ISREG(st.st_mode) || ::access(path, X_OK) < 0) {
        err = EACCES;
        continue;
      }
      return i;
    }
    Fail(ChildStep::kExecLookup, -1, err);
  }

  void SendReady() {
    ChildReport r{ChildReportKind::kReady, ChildStep::kStartGate, -1, 0};
    if (::write(fds.sync, &r, sizeof r) != static_cast<ssize_t>(sizeof r)) ::_exit(127);
    ready_sent = true;
  }

  void WaitAtFifo() const {
    const ProcFdPath path(fds.fifo);
    int fd;
    do {
      fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) Fail(ChildStep::kStartGate, -1, errno);
    (void)!::write(fd, "0", 1);
    ::close(fd);
    ::close(fds.fifo);
  }

  [[noreturn]] void Run() {
    ResetSignals();
    WaitForGo();
    BecomeUserNsRoot();
    SetUpFds();
    JoinNamespaces();
    SetNames();
    if (plan.setup_rootfs) SetUpRootfs();
    if (!plan.exec_root.empty() && ::chroot(plan.exec_root.c_str()) < 0) {
      Fail(ChildStep::kChroot, -1, errno);
    }
    // A pivoted rootfs wrote them before its read-only paths.
    if (!plan.setup_rootfs || plan.chroot_rootfs) WriteSysctls();
    SetRlimits();
    if (plan.terminal) SetUpConsole();
    // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: load it while we have it
    // (the filter then also sees the remaining set-up syscalls, as with runc).
    const bool seccomp_early = plan.seccomp && !plan.no_new_privileges;
    if (seccomp_early) LoadSeccomp();
    SetUserAndCaps();
    ::umask(plan.umask);
    if (::chdir(plan.cwd.c_str()) < 0) Fail(ChildStep::kChdir, -1, errno);
    if (plan.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
      Fail(ChildStep::kNoNewPrivs, -1, errno);
    }
    size_t exe = FindExecutable();
    if (plan.gate == StartGate::kFifo) {
      struct stat st;
      if (::fstat(fds.fifo, &st) < 0) Fail(ChildStep::kStartGate, -1, errno);
      // The gate reopens the fifo through /proc/self/fd: /proc must be there.
      if (::access("/proc/self/fd", F_OK) < 0) Fail(ChildStep::kStartGate, -1, errno);
      SendReady();
      WaitAtFifo();
    }
    if (plan.seccomp && !seccomp_early) LoadSeccomp();
    for (size_t i = exe; i < plan.exec_candidates.size(); ++i) {
      ::execve(plan.exec_candidates[i].c_str(), plan.argv.data(), plan.envp.data());
      if (errno != ENOENT && errno != EACCES) break;
    }
    Fail(ChildStep::kExec, -1, errno);
  }
};

}  // namespace

void RunChild(const LaunchPlan& plan, const ChildFds& fds) {
  Child child{plan, fds};
  child.Run();
}

std::string ChildStepName(const LaunchPlan& plan, ChildStep step, int32_t index) {
  auto at = [&](const auto& v) -> const auto* {
    return index >= 0 && static_cast<size_t>(index) < v.size() ? &v[static_cast<size_t>(index)]
                                                               : nullptr;
  };
  switch (step) {
    case ChildStep::kSignals:
      return "reset signals";
    case ChildStep::kUserNsRoot:
      return "become root in the new user namespace";
    case ChildStep::kFds:
      return "set up fds" + (index >= 0 ? " (fd " + std::to_string(index) + ")" : "");
    case ChildStep::kSetns:
      if (const auto* j = at(plan.joins)) {
        return std::string("setns ") + NamespaceTypeName(j->type) + " " + j->path;
      }
      return "setns";
    case ChildStep::kHostname:
      return "sethostname";
    case ChildStep::kDomainname:
      return "setdomainname";
    case ChildStep::kRootPropagation:
      return "set rootfs propagation";
    case ChildStep::kRootfsBind:
      return "bind rootfs " + plan.rootfs;
    case ChildStep::kRootfsStep:
      if (const auto* s = at(plan.rootfs_steps)) return s->description;
      return "rootfs step";
    case ChildStep::kPivotRoot:
      return "pivot_root";
    case ChildStep::kChroot:
      return "chroot " + (plan.exec_root.empty() ? plan.rootfs : plan.exec_root);
    case ChildStep::kMaskPath:
      if (const auto* p = at(plan.masked_paths)) return "mask " + *p;
      return "mask path";
    case ChildStep::kReadonlyPath:
      if (const auto* p = at(plan.readonly_paths)) return "make " + *p + " read-only";
      return "read-only path";
    case ChildStep::kReadonlyRootfs:
      return "remount rootfs read-only";
    case ChildStep::kSysctl:
      if (const auto* s = at(plan.sysctls)) return "sysctl " + s->key;
      return "sysctl";
    case ChildStep::kRlimit:
      if (const auto* r = at(plan.rlimits)) return "setrlimit " + r->name;
      return "setrlimit";
    case ChildStep::kBoundingSet:
      return "drop capability " + std::to_string(index) + " from the bounding set";
    case ChildStep::kKeepCaps:
      return "prctl PR_SET_KEEPCAPS";
    case ChildStep::kSetgroups:
      return "setgroups";
    case ChildStep::kSetresgid:
      return "setresgid " + std::to_string(plan.gid);
    case ChildStep::kSetresuid:
      return "setresuid " + std::to_string(plan.uid);
    case ChildStep::kCapset:
      return "capset";
    case ChildStep::kAmbient:
      return "raise ambient capability " + std::to_string(index);
    case ChildStep::kChdir:
      return "chdir " + plan.cwd;
    case ChildStep::kNoNewPrivs:
      return "prctl PR_SET_NO_NEW_PRIVS";
    case ChildStep::kExecLookup:
    case ChildStep::kExec: {
      std::string arg0 = plan.argv.size() > 0 ? plan.argv.items()[0] : "";
      return "exec " + Quoted(arg0);
    }
    case ChildStep::kStartGate:
      return "open exec fifo through /proc/self/fd (is /proc mounted?)";
    case ChildStep::kSeccomp:
      return "load seccomp filter";
    case ChildStep::kConsole:
      return ConsoleStepName(index);
  }
  return "set-up step " + std::to_string(static_cast<uint32_t>(step));
}

}  // namespace podshim::oci
