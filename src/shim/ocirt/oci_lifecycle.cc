#include "shim/ocirt/oci_lifecycle.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "cgroups/oci_cgroup_path.h"
#include "common/process_handle.h"
#include "common/quoted.h"
#include "common/sys.h"
#include "common/time_format.h"
#include "oci/console.h"
#include "oci/features.h"
#include "oci/launch_plan.h"
#include "oci/linux_launcher.h"
#include "oci/spec_parse.h"
#include "shim/ocirt/foreground.h"
#include "shim/ocirt/oci_cgroup.h"
#include "shim/ocirt/oci_hooks.h"
#include "shim/ocirt/process_fds.h"
#include "shim/ocirt/tty_relay.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using oci::ContainerState;
using oci::ContainerStatus;

// How long delete --force waits for a SIGKILLed container to die.
constexpr int kKillWaitMs = 10'000;

void Warn(const std::string& what) {
  std::fprintf(stderr, "podshim oci: warning: %s, ignoring\n", what.c_str());
}

std::string HookState(const ContainerState& state, ContainerStatus status) {
  return oci::StateToRuncJson(state, status, -1);
}

// Removes the container's state dir unless Dismiss()ed: error paths leave nothing behind.
class StateDirGuard {
 public:
  StateDirGuard(const oci::StateDir& dir, std::string id) : dir_(dir), id_(std::move(id)) {}
  ~StateDirGuard() {
    if (!id_.empty()) (void)dir_.Remove(id_);
  }
  void Dismiss() { id_.clear(); }

 private:
  const oci::StateDir& dir_;
  std::string id_;
};

// Waits until the process behind `pidfd` has exited (or timeout_ms passes; -1: forever).
Status WaitPidfd(int pidfd, int timeout_ms) {
  struct pollfd p = {pidfd, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return Ok();
    if (r == 0) return Error::Domain(ErrorCode::kTimeout, "wait for the container to exit");
    if (errno != EINTR) return Error::Errno(errno, "poll pidfd");
  }
}

// A pidfd for the container's process, checked against the recorded start time so a reused pid
// is never signalled. ESRCH when it is gone.
Result<UniqueFd> OpenContainerPidfd(const ContainerState& state) {
  auto pidfd = sys::PidfdOpen(state.pid);
  if (!pidfd) return std::move(pidfd).error().Wrap("container " + Quoted(state.id));
  // Checked after opening: from here on the pidfd pins the process we verified.
  auto stat = oci::ReadProcStat("/proc", state.pid);
  if (!stat || !stat->has_value() || (*stat)->start_time != state.pid_start_time) {
    return Error::Errno(ESRCH, "container " + Quoted(state.id));
  }
  return pidfd;
}

// Everything that create and run share: the checked bundle, the process at its gate (or
// already exec'd), the state that describes it.
struct Launched {
  ContainerState state;
  ProcessHandle process;
  oci::Spec spec;
  UniqueFd console;  // foreground run with a terminal: our end of the console socketpair
};

// The console socket of a terminal (none without one): the caller's --console-socket, or for a
// process we stay attached to, a socketpair whose other end stays with us (`ours`).
Result<UniqueFd> ConsoleSocket(const oci::Spec& spec, const OciCreateRequest& req, bool detached,
                               UniqueFd& ours) {
  const bool terminal = spec.process->terminal;
  const bool has_socket = !req.console_socket.empty() || req.console_socket_fd >= 0;
  PODSHIM_TRY(oci::CheckConsoleOptions(terminal, detached, has_socket));
  if (!terminal) return UniqueFd();
  if (detached && req.console_socket_fd >= 0) {
    UniqueFd copy(::fcntl(req.console_socket_fd, F_DUPFD_CLOEXEC, 3));
    if (!copy) return Error::Errno(errno, "console socket");
    return copy;
  }
  if (detached) return oci::ConnectConsoleSocket(req.console_socket);
  auto pair = PODSHIM_TRY(ConsoleSocketPair());
  ours = std::move(pair.first);
  return std::move(pair.second);
}

Status CheckCgroupsPathForm(const oci::Spec& spec, const OciCreateRequest& req) {
  const std::string& path = spec.linux_config.cgroups_path;
  if (!req.refuse_systemd_cgroups_path || !cgroups::IsSystemdCgroupsPath(path)) return Ok();
  return Error::Invalid(
      "linux.cgroupsPath: " + Quoted(path) +
      " is the systemd cgroup driver's \"slice:prefix:name\" form, which needs systemd to create "
      "the unit; podshim's containerd shim places cgroups itself: use the cgroupfs driver "
      "(containerd's SystemdCgroup = false, the kubelet's cgroupDriver: cgroupfs)");
}

// The state of a container being created; pid, its start time and the cgroup come later.
ContainerState NewState(const oci::Spec& spec, const std::string& id, const fs::path& bundle) {
  ContainerState s;
  s.oci_version = spec.oci_version;
  s.id = id;
  s.status = ContainerStatus::kCreated;
  s.bundle = bundle.string();
  s.rootfs = spec.root.path;
  s.created = FormatRfc3339Nano(std::chrono::system_clock::now());
  // As runc: `state` reports an empty owner; `list` names the owner of the state dir (looking
  // the user up here would load NSS modules on every start).
  s.annotations = spec.annotations;
  s.start_container = spec.hooks.start_container;
  s.poststart = spec.hooks.poststart;
  s.poststop = spec.hooks.poststop;
  return s;
}

// Sets the container up and leaves it waiting at exec.fifo; on success the caller owns the state
// dir (guard dismissed) and the process (guard released). `run` gates too: the state must exist
// before the program runs, so that `state`, `kill` and `list` see it from its first instruction.
Result<Launched> Launch(const oci::StateDir& dir, const OciCreateRequest& req, bool detached) {
  PODSHIM_TRY(oci::ValidateContainerId(req.id));
  std::error_code ec;
  fs::path bundle = fs::absolute(req.bundle.empty() ? fs::path(".") : req.bundle, ec);
  if (ec) return Error::Errno(ec.value(), "bundle " + req.bundle.string());
  bundle = bundle.lexically_normal();
  if (bundle.has_relative_path() && !bundle.has_filename()) bundle = bundle.parent_path();

  Launched out;
  out.spec = PODSHIM_TRY(oci::LoadSpec(bundle));
  if (!out.spec.process) {
    return Error::Invalid("config.json: process: required to run a container");
  }
  PODSHIM_TRY(CheckCgroupsPathForm(out.spec, req));
  // Connected before anything is created: a bad socket leaves nothing behind.
  UniqueFd console = PODSHIM_TRY(ConsoleSocket(out.spec, req, detached, out.console));

  PODSHIM_TRY(dir.CreateContainerDir(req.id));
  StateDirGuard dir_guard(dir, req.id);

  oci::LaunchOptions opts;
  opts.container_id = req.id;
  opts.gate = oci::StartGate::kFifo;
  opts.extra_fds = PODSHIM_TRY(PreservedFds(req.preserve_fds));
  opts.fifo_path = dir.FifoPath(req.id);
  opts.console_socket_fd = console.get();
  opts.stdin_fd = req.stdio[0];
  opts.stdout_fd = req.stdio[1];
  opts.stderr_fd = req.stdio[2];
  // 0622 as runc: the container's user, whoever it is, can open it for writing.
  if (::mkfifo(opts.fifo_path.c_str(), 0622) < 0 || ::chmod(opts.fifo_path.c_str(), 0622) < 0) {
    return Error::Errno(errno, "mkfifo " + opts.fifo_path.string());
  }
  // Before the process exists: it is cloned straight into its cgroup (CLONE_INTO_CGROUP).
  OciCgroupPlacement cgroup = PODSHIM_TRY(PlaceOciCgroup(out.spec, req.id));
  opts.cgroup_dir_fd = cgroup.dir_fd();
  oci::LaunchPlan plan = PODSHIM_TRY(oci::BuildLaunchPlan(out.spec, bundle, std::move(opts)));
  ContainerState& s = out.state;
  s = NewState(out.spec, req.id, bundle);
  cgroup.Record(s);
  // While the child mounts its rootfs (~1.5 ms), the parent's own work: the device program's
  // load and state.json. Written before the child is ready, the state reads "created" (the fifo
  // is there) a little early: `start` then waits at the fifo for the child's byte, as always.
  plan.while_child_sets_up = [&](pid_t pid) -> Status {
    PODSHIM_TRY(cgroup.LoadDeviceFilter());
    s.pid = pid;
    // The child is ours and not reaped, so its stat is readable even if it died.
    auto stat = PODSHIM_TRY(oci::ReadProcStat("/proc", pid));
    if (!stat) return Error::Errno(ESRCH, "process vanished");
    s.pid_start_time = stat->start_time;
    return dir.Save(s);
  };
  oci::LinuxLauncher launcher;
  ChildGuard child(PODSHIM_TRY(launcher.Launch(plan)));
  // The child waits at its gate, set up: filtered from here on, before it can exec.
  PODSHIM_TRY_WRAP(cgroup.AttachDeviceFilter(), "container " + Quoted(req.id));

  std::string creating = HookState(s, ContainerStatus::kCreating);
  PODSHIM_TRY(RunHooks("prestart", out.spec.hooks.prestart, creating));
  PODSHIM_TRY(RunHooks("createRuntime", out.spec.hooks.create_runtime, creating));
  PODSHIM_TRY(RunHooks("createContainer", out.spec.hooks.create_container, creating,
                       HookTarget{child.handle().pidfd()}));

  if (!req.pid_file.empty()) {
    PODSHIM_TRY(sys::WriteFileAtomic(req.pid_file, std::to_string(s.pid)));
  }
  dir_guard.Dismiss();
  cgroup.Keep();
  out.process = std::move(child).Release();
  return out;
}

// Lets a gated process exec: startContainer hooks, then open exec.fifo for reading and wait for
// the child's byte (or its death), then remove the fifo.
Status OpenGate(const oci::StateDir& dir, const ContainerState& state, int pidfd) {
  PODSHIM_TRY(RunHooks("startContainer", state.start_container,
                       HookState(state, ContainerStatus::kCreated), HookTarget{pidfd}));
  fs::path fifo = dir.FifoPath(state.id);
  UniqueFd fd = PODSHIM_TRY(sys::Open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  struct pollfd p[2] = {{fd.get(), POLLIN, 0}, {pidfd, POLLIN, 0}};
  for (;;) {
    int r = ::poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error::Errno(errno, "poll " + fifo.string());
    if (p[0].revents & (POLLIN | POLLHUP)) {
      char byte;
      ssize_t n = ::read(fd.get(), &byte, 1);
      if (n == 1) break;
      if (n < 0 && errno == EAGAIN) continue;
      return Error::Errno(EPIPE, "container " + Quoted(state.id) + ": gave up before exec");
    }
    if (p[1].revents & POLLIN) {
      return Error::Errno(ESRCH, "container " + Quoted(state.id) + ": exited before start");
    }
  }
  if (::unlink(fifo.c_str()) < 0 && errno != ENOENT) {
    return Error::Errno(errno, "unlink " + fifo.string());
  }
  return Ok();
}

void RunPoststart(const ContainerState& state) {
  auto r = RunHooks("poststart", state.poststart, HookState(state, ContainerStatus::kRunning));
  if (!r) Warn(r.error().ToString());
}

// Removes the cgroup (as runc, before poststop), runs poststop (failures are warnings, as runc)
// and removes the state dir.
Status Cleanup(const oci::StateDir& dir, const ContainerState& state) {
  PODSHIM_TRY_WRAP(RemoveOciCgroup(state), "container " + Quoted(state.id));
  auto r = RunHooks("poststop", state.poststop, HookState(state, ContainerStatus::kStopped));
  if (!r) Warn(r.error().ToString());
  return dir.Remove(state.id);
}

Status KillAndWait(const ContainerState& state) {
  auto pidfd = OpenContainerPidfd(state);
  if (!pidfd) return Ok();  // already gone
  PODSHIM_TRY(sys::PidfdSendSignal(pidfd->get(), SIGKILL));
  return WaitPidfd(pidfd->get(), kKillWaitMs);
}

}  // namespace

Status OciCreate(const oci::StateDir& dir, const OciCreateRequest& req) {
  // The process outlives us, waiting at its gate (runc's detached create); dropping the handle
  // only closes our pidfd.
  PODSHIM_TRY(Launch(dir, req, /*detached=*/true));
  return Ok();
}

Status OciStart(const oci::StateDir& dir, const std::string& id) {
  ContainerState state = PODSHIM_TRY(dir.Load(id));
  ContainerStatus status = PODSHIM_TRY(dir.CurrentStatus(state));
  if (status == ContainerStatus::kStopped) {
    return Error::Domain(ErrorCode::kConflict, "cannot start a container that has stopped");
  }
  if (status != ContainerStatus::kCreated) {
    return Error::Domain(ErrorCode::kConflict, "cannot start an already running container");
  }
  UniqueFd pidfd = PODSHIM_TRY(OpenContainerPidfd(state));
  PODSHIM_TRY(OpenGate(dir, state, pidfd.get()));
  state.status = ContainerStatus::kRunning;
  PODSHIM_TRY(dir.Save(state));
  RunPoststart(state);
  return Ok();
}

Status OciKill(const oci::StateDir& dir, const std::string& id, int sig) {
  ContainerState state = PODSHIM_TRY(dir.Load(id));
  ContainerStatus status = PODSHIM_TRY(dir.CurrentStatus(state));
  if (status == ContainerStatus::kStopped) {
    return Error::Domain(ErrorCode::kConflict, "container " + Quoted(id) + " is not running");
  }
  auto pidfd = OpenContainerPidfd(state);
  if (!pidfd)
    return Error::Domain(ErrorCode::kConflict, "container " + Quoted(id) + " is not running");
  return sys::PidfdSendSignal(pidfd->get(), sig);
}

Status OciDelete(const oci::StateDir& dir, const std::string& id, bool force) {
  auto loaded = dir.Load(id);
  if (!loaded) {
    // runc: delete --force of a container that does not exist succeeds.
    if (force && loaded.error().code() == make_error_code(ErrorCode::kNotFound)) return Ok();
    return std::move(loaded).error();
  }
  ContainerState& state = *loaded;
  ContainerStatus status = PODSHIM_TRY(dir.CurrentStatus(state));
  if (status == ContainerStatus::kRunning || status == ContainerStatus::kPaused) {
    if (!force) {
      return Error::Domain(ErrorCode::kConflict,
                           "cannot delete container " + Quoted(id) +
                               " that is not stopped: " + oci::ContainerStatusName(status));
    }
  }
  if (status != ContainerStatus::kStopped) {
    // A created container never ran its program: runc deletes it without --force too.
    PODSHIM_TRY_WRAP(KillAndWait(state), "container " + Quoted(id));
  }
  return Cleanup(dir, state);
}

Result<int> OciRun(const oci::StateDir& dir, const OciCreateRequest& req, bool detach) {
  // Block the forwarded signals before the container exists, so none is lost; the launcher
  // gives the container an empty mask.
  sigset_t old;
  UniqueFd sfd;
  if (!detach) sfd = PODSHIM_TRY(BlockForwardedSignals(&old));

  Launched launched = PODSHIM_TRY(Launch(dir, req, detach));
  ChildGuard child(std::move(launched.process));
  StateDirGuard dir_guard(dir, req.id);
  ContainerState& state = launched.state;
  UniqueFd master;  // a terminal: sent before the process reported ready, so already queued
  std::optional<RawTerminal> raw;  // our stdin, raw until we return (errors included)
  if (launched.console) {
    master = PODSHIM_TRY_WRAP(oci::ReceiveConsoleMaster(launched.console.get()),
                              "container " + Quoted(req.id));
    launched.console.Reset();
    // Before the program runs: its first `stty size` already sees the caller's size.
    raw.emplace(PODSHIM_TRY_WRAP(RawTerminal::Enter(STDIN_FILENO), "terminal"));
    CopyWindowSize(STDIN_FILENO, master.get());
  }
  PODSHIM_TRY(OpenGate(dir, state, child.handle().pidfd()));
  // No second write of state.json: the status is derived (the fifo is gone: running).
  state.status = ContainerStatus::kRunning;
  RunPoststart(state);
  if (detach) {
    dir_guard.Dismiss();
    (void)std::move(child).Release();
    return 0;
  }

  int pidfd = child.handle().pidfd();
  if (master) {
    PODSHIM_TRY(RelayUntilExit(master.get(), pidfd, sfd.get()));
  } else {
    PODSHIM_TRY(ForwardUntilExit(pidfd, sfd.get()));
  }
  const int status = PODSHIM_TRY(ReapExitStatus(pidfd));
  (void)std::move(child).Release();  // reaped
  dir_guard.Dismiss();
  PODSHIM_TRY(Cleanup(dir, state));
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return status;
}

}  // namespace podshim::shim
