// `podshim start [opts] MANIFEST`: the checks of `podshim run` (exit 2, nothing created), then a
// detached shim (daemon::Detach) sets the pod up and runs it exactly as `run` does, logging to
// <state-dir>/podshim.log, its pid in <state-dir>/podshim.pid (or --pid-file). The caller waits
// on a close-on-exec pipe: "ready" once the control socket listens (it prints the socket path,
// exit 0), "error: ..." when set-up failed (exit 1, the shim undid everything). EOF without
// either means the shim died: the caller removes what it left (state dir, pid file, cgroup).
// The daemon forks first: the child is the shim, the parent execs the pod keeper
// (`podshim-keeper`, shim/keeper/keeper.h), which outlives a shim killed by a signal.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/mountinfo.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/sys.h"
#include "shim/cli/commands.h"
#include "shim/cli/pod_flags.h"
#include "shim/record/shim_lock.h"
#include "shim/run/dead_shim.h"
#include "shim/run/pod_runner.h"
#include "shim/run/stop_signals.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;

// The lines the shim writes on the pipe: "pid N" first, then "ready" or "error: TEXT" (TEXT
// runs to the end of the stream and may span lines).
constexpr std::string_view kPidLine = "pid ";
constexpr std::string_view kReadyLine = "ready";
constexpr std::string_view kErrorLine = "error: ";
// The pod keeper's binary, installed beside podshim (src/CMakeLists.txt).
constexpr const char* kKeeperBinary = "podshim-keeper";

constexpr auto kExitWait = std::chrono::seconds(5);

// What the caller knows before it detaches, to clean up after a shim that died.
struct StartPlan {
  fs::path state_dir;
  fs::path pid_file;
  bool state_dir_existed = false;
  std::optional<fs::path> pod_cgroup;  // absent when it existed before (not ours) or no cgroup2
  std::vector<fs::path> new_parents;   // components of --cgroup-parent absent before, deepest last
};

// Relative paths are taken from the caller's cwd: the shim runs in "/".
Status MakeAbsolute(PodOptions& o) {
  for (std::string* p : {&o.manifest, &o.state_dir, &o.log_dir, &o.pid_file}) {
    if (p->empty()) continue;
    std::error_code ec;
    fs::path abs = fs::absolute(*p, ec);
    if (ec) return Error::Errno(ec.value(), "resolve " + *p);
    *p = abs.lexically_normal().string();
  }
  return Ok();
}

Status RemovePidFile(const fs::path& pid_file, pid_t pid) {
  auto text = sys::ReadFile(pid_file);
  if (!text || *text != std::to_string(pid) + "\n") return Ok();  // not ours (any more)
  if (::unlink(pid_file.c_str()) != 0 && errno != ENOENT) {
    return Error::Errno(errno, "remove " + pid_file.string());
  }
  return Ok();
}

// The detached shim: runs the pod and reports to the caller once, on `channel`.
int RunShim(const PodOptions& o, const CheckedPod& checked, const fs::path& pid_file,
            UniqueFd channel, Result<UniqueFd> keeper) {
  // First in the detached shim (Detach emptied its signal mask): see stop_signals.h.
  BlockStopSignals();
  const pid_t self = ::getpid();
  if (channel) (void)daemon::SendLine(channel.get(), std::string(kPidLine) + std::to_string(self));
  bool pid_file_written = false;
  std::optional<fs::path> created_log;
  PodRunHooks hooks;
  hooks.keeper_fd = keeper ? keeper->get() : -1;
  hooks.on_state_dir = [&](const fs::path& state_dir) -> Status {
    const fs::path log_file = state_dir / "podshim.log";
    if (!fs::exists(log_file)) created_log = log_file;
    PODSHIM_TRY_WRAP(log::Init(o.log_level, log_file.string()), "shim log");
    spdlog::info("shim {} starting pod {} (state dir {})", self, checked.paths.id,
                 state_dir.string());
    if (!keeper) {
      spdlog::warn("no pod keeper ({}): output written while no shim is alive is lost",
                   keeper.error().ToString());
    }
    PODSHIM_TRY_WRAP(sys::WriteFileAtomic(pid_file, std::to_string(self) + "\n"),
                     "write the pid file " + pid_file.string());
    pid_file_written = true;
    return Ok();
  };
  hooks.on_listening = [&] {
    // Test seam: a shim that dies at the worst moment (socket listening, pod cgroup created,
    // nothing reported) shows that its caller cleans up after it.
    if (::getenv("PODSHIM_START_DIE_BEFORE_READY_FOR_TEST") != nullptr) ::raise(SIGKILL);
    if (!channel) return;  // an upgraded image: nobody waits
    Status sent = daemon::SendLine(channel.get(), kReadyLine);
    // A caller that went away (killed) changes nothing: the pod runs on.
    if (!sent) spdlog::warn("tell the caller of start: {}", sent.error().ToString());
    channel.Reset();
  };
  Result<int> status = RunCheckedPod(o, checked, hooks);
  if (pid_file_written) {
    Status removed = RemovePidFile(pid_file, self);
    if (!removed) spdlog::warn("{}", removed.error().ToString());
  }
  if (channel) {  // the socket never listened: set-up failed and was undone
    if (created_log) (void)::unlink(created_log->c_str());
    std::string message =
        status ? "the pod ended before its control socket listened" : status.error().ToString();
    (void)daemon::SendLine(channel.get(), std::string(kErrorLine) + message);
    return 1;
  }
  if (!status) {
    spdlog::error("{}", status.error().ToString());
    return 1;
  }
  spdlog::info("shim {} exits", self);
  return *status;
}

// In the daemon: forks the shim (the child, which returns with its end of the keeper's socket)
// and becomes the pod keeper (the parent, which execs podshim-keeper, found beside this binary,
// and never returns). Without the binary, a socket or a fork the shim runs without a keeper (its
// pipes then die with it).
Result<UniqueFd> ForkKeeper(const fs::path& state_dir, UniqueFd& channel) {
  std::error_code ec;
  const fs::path keeper = fs::read_symlink("/proc/self/exe", ec).parent_path() / kKeeperBinary;
  if (ec || ::access(keeper.c_str(), X_OK) != 0) {
    return Error::Invalid(keeper.string() + " is missing or not executable");
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    return Error::Errno(errno, "socketpair");
  }
  UniqueFd shim_end(sv[0]), keeper_end(sv[1]);
  const pid_t shim = ::fork();
  if (shim < 0) return Error::Errno(errno, "fork");
  if (shim == 0) return shim_end;
  // The keeper: the caller hears from the shim only (EOF once the shim closes its end).
  channel.Reset();
  shim_end.Reset();
  const std::string fd = std::to_string(keeper_end.get());
  const std::string pid = std::to_string(shim);
  (void)::fcntl(keeper_end.get(), F_SETFD, 0);
  const char* argv[] = {kKeeperBinary, "--state-dir", state_dir.c_str(), "--shim-pid",
                        pid.c_str(),   "--fd",        fd.c_str(),        nullptr};
  ::execv(keeper.c_str(), const_cast<char* const*>(argv));
  ::_exit(127);  // the shim runs on, its keeper gone
}

// Waits (bounded) until process `pid`, not our child, has exited.
void WaitGone(pid_t pid) {
  auto fd = sys::PidfdOpen(pid);
  if (!fd) return;  // ESRCH: gone already
  pollfd p{fd->get(), POLLIN, 0};
  const int ms = static_cast<int>(std::chrono::milliseconds(kExitWait).count());
  while (::poll(&p, 1, ms) < 0 && errno == EINTR) {
  }
}

// The shim died before it reported: remove what it may have left.
void CleanUpAfterDeadShim(const StartPlan& plan, std::optional<pid_t> pid) {
  if (pid) WaitGone(*pid);
  if (plan.pod_cgroup) {
    Status removed = KillAndRemoveCgroupTree(*plan.pod_cgroup, kExitWait);
    if (!removed) PrintPodError("start", removed.error());
  }
  // Parents the shim made for this pod go too, as its manager would remove them: only when
  // empty (another pod under one keeps it, rmdir fails with EBUSY).
  for (auto it = plan.new_parents.rbegin(); it != plan.new_parents.rend(); ++it) {
    (void)::rmdir(it->c_str());
  }
  if (pid) (void)RemovePidFile(plan.pid_file, *pid);
  if (!plan.state_dir_existed) {
    UnmountBelow(plan.state_dir);
    (void)sys::RemoveTree(plan.state_dir);
  }
}

// The caller's side: waits for the shim's report.
int AwaitShim(const StartPlan& plan, UniqueFd channel) {
  Result<std::string> report = sys::ReadAll(channel.get());
  std::string text = report ? *report : std::string();
  std::optional<pid_t> pid;
  if (text.starts_with(kPidLine)) {
    size_t nl = text.find('\n');
    pid_t value = 0;
    const char* first = text.data() + kPidLine.size();
    const char* last = text.data() + (nl == std::string::npos ? text.size() : nl);
    if (std::from_chars(first, last, value).ec == std::errc() && value > 0) pid = value;
    text.erase(0, nl == std::string::npos ? text.size() : nl + 1);
  }
  if (text == std::string(kReadyLine) + "\n") {
    std::printf("%s\n", (plan.state_dir / "podshim.sock").c_str());
    return 0;
  }
  if (text.starts_with(kErrorLine)) {
    text.erase(0, kErrorLine.size());
    while (text.ends_with('\n')) text.pop_back();
    if (pid) WaitGone(*pid);
    PrintPodError("start", Error::Domain(ErrorCode::kConflict, text));
    return 1;
  }
  std::string who = pid ? "the shim (pid " + std::to_string(*pid) + ")" : "the shim";
  std::fprintf(stderr,
               "podshim start: %s died before its control socket listened%s; removing what it "
               "left\n",
               who.c_str(),
               report ? "" : (" (read its report: " + report.error().ToString() + ")").c_str());
  CleanUpAfterDeadShim(plan, pid);
  return 1;
}

}  // namespace

int StartPodCommand(int argc, char** argv) {
  std::span<char* const> args(argv, static_cast<size_t>(argc));
  Result<PodCommandLine> line = ParsePodOptions(args, PodCommand::kStart);
  if (!line) {
    PrintPodError("start", line.error());
    std::fputs("run `podshim start --help` for usage\n", stderr);
    return 2;
  }
  if (line->help) {
    std::fputs(PodUsage(PodCommand::kStart).c_str(), stdout);
    return 0;
  }
  PodOptions* o = &line->options;
  SetInvocation(*o);
  if (Status st = MakeAbsolute(*o); !st) {
    PrintPodError("start", st.error());
    return 1;
  }
  if (Status st = log::Init(o->log_level); !st) {
    PrintPodError("start", st.error());
    return 2;
  }
  Result<CheckedPod> checked = CheckPod(*o);
  if (!checked) {
    PrintPodError("start", checked.error());
    return 2;
  }
  // Exec'd by `ctl upgrade` in the detached shim: this process is that shim, already detached;
  // it runs the pod on from the cwd the daemon has.
  if (o->handover) {
    if (::chdir("/") != 0) return 1;
    return RunShim(
        *o, *checked,
        o->pid_file.empty() ? checked->paths.state_dir / "podshim.pid" : fs::path(o->pid_file),
        UniqueFd(), UniqueFd(o->handover->keeper_fd));
  }
  // A shim that holds the state dir's lock runs there (listening yet or not): a second start
  // would clobber its pid file and events.
  if (Result<bool> held = ShimHoldsLock(checked->paths.state_dir); held && *held) {
    PrintPodError("start",
                  Error::Domain(ErrorCode::kConflict,
                                "a shim already runs for this state dir (it holds " +
                                    ShimLockPath(checked->paths.state_dir).string() + ")"));
    return 1;
  }
  StartPlan plan;
  plan.state_dir = checked->paths.state_dir;
  plan.pid_file = o->pid_file.empty() ? plan.state_dir / "podshim.pid" : fs::path(o->pid_file);
  plan.state_dir_existed = fs::exists(plan.state_dir);
  if (auto mount = cgroups::ReadCgroup2Mount()) {
    fs::path parent = mount->mount_point;
    for (const fs::path& component : fs::path(o->cgroup_parent).relative_path()) {
      parent /= component;
      if (!fs::exists(parent)) plan.new_parents.push_back(parent);
    }
    fs::path pod = parent / ("pod-" + checked->paths.id);
    if (!fs::exists(pod)) plan.pod_cgroup = pod;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  Result<daemon::Detached> detached = daemon::Detach();
  if (!detached) {
    PrintPodError("start", detached.error().Wrapped("detach the shim"));
    return 1;
  }
  if (detached->in_daemon) {
    Result<UniqueFd> keeper = ForkKeeper(plan.state_dir, detached->channel);
    return RunShim(*o, *checked, plan.pid_file, std::move(detached->channel), std::move(keeper));
  }
  return AwaitShim(plan, std::move(detached->channel));
}

}  // namespace podshim::shim
