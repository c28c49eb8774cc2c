#include "shim/ocirt/oci_exec.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <optional>
#include <utility>

#include "cgroups/mountinfo.h"
#include "common/process_handle.h"
#include "common/quoted.h"
#include "common/sys.h"
#include "oci/console.h"
#include "oci/exec_plan.h"
#include "oci/exec_template.h"
#include "oci/linux_launcher.h"
#include "oci/spec_parse.h"
#include "shim/ocirt/foreground.h"
#include "shim/ocirt/process_fds.h"
#include "shim/ocirt/tty_relay.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;
using oci::ContainerStatus;

Result<uint32_t> ParseId(std::string_view text) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // 4294967295 is (uid_t)-1, "no change" to the kernel.
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      value == UINT32_MAX) {
    return Error::Invalid(Quoted(text) + " is not an id");
  }
  return value;
}

Status ApplyUser(const std::string& user, oci::User& out) {
  auto bad = [&] { return Error::Invalid("--user: " + Quoted(user) + " is not UID[:GID]"); };
  const size_t colon = user.find(':');
  auto uid = ParseId(std::string_view(user).substr(0, colon));
  if (!uid) return bad();
  if (colon != std::string::npos) {
    auto gid = ParseId(std::string_view(user).substr(colon + 1));
    if (!gid) return bad();
    out.gid = *gid;
  }
  out.uid = *uid;
  return Ok();
}

Result<oci::Process> LoadProcess(const oci::Spec& spec, const OciExecRequest& req) {
  if (req.process_file.empty()) return ExecProcessFromFlags(spec, req);
  std::string text = PODSHIM_TRY(sys::ReadFile(req.process_file));
  return oci::ParseProcessJson(text, req.process_file);
}

// A pidfd for the container's init, checked against the recorded start time (a reused pid is
// never joined).
Result<UniqueFd> OpenInit(const oci::ContainerState& state) {
  auto pidfd = sys::PidfdOpen(state.pid);
  auto stat = oci::ReadProcStat("/proc", state.pid);
  if (!pidfd || !stat || !stat->has_value() || (*stat)->start_time != state.pid_start_time) {
    return Error::Domain(ErrorCode::kConflict, "cannot exec in a stopped container");
  }
  return std::move(*pidfd);
}

// The cgroup v2 directory of `pid` ("0::/path" in /proc/<pid>/cgroup under the cgroup2 mount).
Result<UniqueFd> OpenCgroupOf(pid_t pid) {
  const std::string file = "/proc/" + std::to_string(pid) + "/cgroup";
  std::string text = PODSHIM_TRY(sys::ReadFile(file));
  std::string path;
  bool found = false;
  for (size_t pos = 0; pos < text.size() && !found;) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.starts_with("0::")) {
      path = std::string(line.substr(3));
      found = true;
    }
    pos = end + 1;
  }
  if (!found) return Error::Domain(ErrorCode::kNotFound, file + ": no cgroup v2 entry");
  cgroups::CgroupMount mount = PODSHIM_TRY(cgroups::ReadCgroup2Mount());
  if (mount.root != "/" && path.starts_with(mount.root)) path = path.substr(mount.root.size());
  fs::path dir = mount.mount_point / fs::path(path).relative_path();
  return sys::Open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

// Launches the plan in the init's cgroup; if the kernel refuses to clone into it (a cgroup with
// children and controllers, a v1-only host), in podshim's own, with a warning. Both tries use
// the one `exec` template (capabilities and seccomp prepared once).
Result<ProcessHandle> LaunchInCgroup(oci::ExecOptions opts, const oci::ExecTemplate& exec,
                                     const std::optional<oci::TerminalPlan>& terminal) {
  oci::LinuxLauncher launcher;
  auto cgroup = OpenCgroupOf(opts.container_pid);
  if (cgroup) {
    opts.cgroup_dir_fd = cgroup->get();
    oci::LaunchPlan plan = PODSHIM_TRY(oci::BuildExecPlan(exec, opts));
    plan.terminal = terminal;
    auto launched = launcher.Launch(plan);
    if (launched || launched.error().ToString().find(": clone3") == std::string::npos) {
      return launched;
    }
    std::fprintf(stderr, "podshim oci: warning: %s, the process stays in podshim's cgroup\n",
                 launched.error().ToString().c_str());
  } else {
    std::fprintf(stderr,
                 "podshim oci: warning: the container's cgroup: %s, the process stays in "
                 "podshim's cgroup\n",
                 cgroup.error().ToString().c_str());
  }
  opts.cgroup_dir_fd = -1;
  oci::LaunchPlan plan = PODSHIM_TRY(oci::BuildExecPlan(exec, opts));
  plan.terminal = terminal;
  return launcher.Launch(plan);
}

// A terminal's console socket: the caller's (-d), or one end of a socketpair whose other end
// (`ours`) receives the master for the foreground relay. Exec has no start gate, so a foreground
// pty gets the caller's window size at once.
Result<std::optional<oci::TerminalPlan>> ExecTerminal(const oci::Process& p,
                                                      const OciExecRequest& req, UniqueFd& sent,
                                                      UniqueFd& ours) {
  if (!p.terminal) return std::optional<oci::TerminalPlan>();
  oci::TerminalPlan plan{-1, p.console_size, false};
  if (req.detach) {
    sent = PODSHIM_TRY(oci::ConnectConsoleSocket(req.console_socket));
  } else {
    auto pair = PODSHIM_TRY(ConsoleSocketPair());
    ours = std::move(pair.first);
    sent = std::move(pair.second);
    struct winsize ws {};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
      plan.size = oci::ConsoleSize{ws.ws_row, ws.ws_col};
    }
  }
  plan.socket_fd = sent.get();
  return std::optional<oci::TerminalPlan>(plan);
}

// The container's state, if an exec may join it now.
Result<oci::ContainerState> LoadExecTarget(const oci::StateDir& dir, const std::string& id,
                                           bool ignore_paused) {
  oci::ContainerState state = PODSHIM_TRY(dir.Load(id));
  ContainerStatus status = PODSHIM_TRY(dir.CurrentStatus(state));
  if (status == ContainerStatus::kStopped) {
    return Error::Domain(ErrorCode::kConflict, "cannot exec in a stopped container");
  }
  if (status == ContainerStatus::kPaused && !ignore_paused) {
    return Error::Domain(ErrorCode::kConflict,
                         "cannot exec in a paused container (use --ignore-paused to override)");
  }
  return state;
}

// The exec options of `process` in the container of `state` (no terminal, no cgroup yet).
oci::ExecOptions ExecOptionsOf(const oci::ContainerState& state, const std::string& id,
                               const oci::Process& process) {
  oci::ExecOptions opts;
  opts.container_id = id;
  opts.container_pid = state.pid;
  opts.argv = process.args;
  return opts;
}

Result<int> Run(const oci::StateDir& dir, const OciExecRequest& req) {
  oci::ContainerState state = PODSHIM_TRY(LoadExecTarget(dir, req.id, req.ignore_paused));
  UniqueFd init = PODSHIM_TRY(OpenInit(state));
  oci::Spec spec = PODSHIM_TRY(oci::LoadSpec(state.bundle));
  spec.process = PODSHIM_TRY(LoadProcess(spec, req));
  PODSHIM_TRY(
      oci::CheckConsoleOptions(spec.process->terminal, req.detach, !req.console_socket.empty()));

  oci::ExecOptions opts = ExecOptionsOf(state, req.id, *spec.process);
  const oci::ExecTemplate exec = PODSHIM_TRY(oci::PrepareExec(spec, req.id));
  opts.extra_fds = PODSHIM_TRY(PreservedFds(req.preserve_fds));

  UniqueFd sent, ours;
  const auto terminal = PODSHIM_TRY(ExecTerminal(*spec.process, req, sent, ours));
  // Blocked before the process exists, so none is lost; the launcher unblocks them in it.
  sigset_t old;
  UniqueFd sfd;
  if (!req.detach) sfd = PODSHIM_TRY(BlockForwardedSignals(&old));
  ChildGuard child(PODSHIM_TRY(LaunchInCgroup(std::move(opts), exec, terminal)));
  sent.Reset();
  if (!req.pid_file.empty()) {
    PODSHIM_TRY(sys::WriteFileAtomic(req.pid_file, std::to_string(child.handle().pid())));
  }
  if (req.detach) {
    // Exiting orphans it to our caller (a subreaper: containerd's shim, conmon), who reaps it.
    (void)std::move(child).Release();
    return 0;
  }
  const int pidfd = child.handle().pidfd();
  if (ours) {
    // Sent before execve, so already queued.
    UniqueFd master = PODSHIM_TRY(oci::ReceiveConsoleMaster(ours.get()));
    ours.Reset();
    RawTerminal raw = PODSHIM_TRY_WRAP(RawTerminal::Enter(STDIN_FILENO), "terminal");
    PODSHIM_TRY(RelayUntilExit(master.get(), pidfd, sfd.get()));
  } else {
    PODSHIM_TRY(ForwardUntilExit(pidfd, sfd.get()));
  }
  const int code = PODSHIM_TRY(ReapExitStatus(pidfd));
  (void)std::move(child).Release();  // reaped
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return code;
}

}  // namespace

Result<oci::Process> ExecProcessFromFlags(const oci::Spec& spec, const OciExecRequest& req) {
  if (!spec.process) return Error::Invalid("process: the container's config.json has none");
  if (req.args.empty()) return Error::Invalid("a command is required unless --process is given");
  oci::Process p = *spec.process;
  p.args = req.args;
  if (!req.cwd.empty()) p.cwd = req.cwd;
  if (!req.apparmor.empty()) p.apparmor_profile = req.apparmor;
  if (!req.process_label.empty()) p.selinux_label = req.process_label;
  if (!req.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (const std::string& cap : req.caps) {
      p.capabilities->bounding.push_back(cap);
      p.capabilities->effective.push_back(cap);
      p.capabilities->permitted.push_back(cap);
      p.capabilities->ambient.push_back(cap);
    }
  }
  p.env.insert(p.env.end(), req.env.begin(), req.env.end());
  p.terminal = req.tty;
  if (req.no_new_privs) p.no_new_privileges = true;
  if (!req.user.empty()) PODSHIM_TRY(ApplyUser(req.user, p.user));
  for (const std::string& g : req.additional_gids) {
    auto gid = ParseId(g);
    if (!gid) return Error::Invalid("--additional-gids: " + Quoted(g) + " is not a group id");
    p.user.additional_gids.push_back(*gid);
  }
  return p;
}

Result<ProcessHandle> SpawnExec(const oci::StateDir& dir, const ExecSpawn& spawn) {
  oci::ContainerState state = PODSHIM_TRY(LoadExecTarget(dir, spawn.id, spawn.ignore_paused));
  UniqueFd init = PODSHIM_TRY(OpenInit(state));
  oci::Spec spec = PODSHIM_TRY(oci::LoadSpec(state.bundle));
  spec.process = spawn.process;
  if (spawn.process.terminal && spawn.console_socket_fd < 0) {
    return Error::Invalid("process.terminal: needs a console socket");
  }
  oci::ExecOptions opts = ExecOptionsOf(state, spawn.id, spawn.process);
  const bool cached = spawn.seccomp && spawn.seccomp->filled;
  if (cached) spec.linux_config.seccomp.reset();  // compiled by an earlier exec
  oci::ExecTemplate exec = PODSHIM_TRY(oci::PrepareExec(spec, spawn.id));
  if (cached) {
    exec.seccomp = spawn.seccomp->program;
  } else if (spawn.seccomp) {
    *spawn.seccomp = ExecSeccompCache{true, exec.seccomp};
  }
  opts.stdin_fd = spawn.stdio[0];
  opts.stdout_fd = spawn.stdio[1];
  opts.stderr_fd = spawn.stdio[2];
  std::optional<oci::TerminalPlan> terminal;
  if (spawn.process.terminal) {
    terminal = oci::TerminalPlan{spawn.console_socket_fd, spawn.process.console_size, false};
  }
  if (spawn.cgroup_dir_fd < 0) return LaunchInCgroup(std::move(opts), exec, terminal);
  // A cgroup of the caller's choosing: no fallback, a process outside it would leak.
  opts.cgroup_dir_fd = spawn.cgroup_dir_fd;
  oci::LaunchPlan plan = PODSHIM_TRY(oci::BuildExecPlan(exec, opts));
  plan.terminal = terminal;
  return oci::LinuxLauncher().Launch(plan);
}

Result<int> OciExec(const oci::StateDir& dir, const OciExecRequest& req) { return Run(dir, req); }

}  // namespace podshim::shim
