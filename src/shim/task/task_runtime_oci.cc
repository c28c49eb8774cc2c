#include "shim/task/task_runtime_oci.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <cerrno>
#include <utility>

#include "common/forked_call.h"
#include "common/process_handle.h"
#include "common/scope_guard.h"
#include "common/sys.h"
#include "oci/console.h"
#include "shim/ocirt/oci_cgroup_ops.h"
#include "shim/ocirt/oci_exec.h"
#include "shim/ocirt/oci_lifecycle.h"
#include "shim/ocirt/process_fds.h"
#include "shim/task/exec_cgroup.h"
#include "shim/task/task_stdio.h"

namespace podshim::shim::task {
namespace {

namespace fs = std::filesystem;

bool IsUnsupported(const Error& e) { return e.code() == make_error_code(ErrorCode::kUnsupported); }

// A new process's stdio (`process`) and the shim's side of it (`shim`: the relay's FIFOs, the
// stdin pump's pipe, the FIFO keeper). A terminal's FIFOs are the relay's; the process's stdio
// is then its pty (the /dev/null given here is replaced).
struct ProcessIo {
  TaskStdio process;
  CreatedTask shim;
};
Result<ProcessIo> OpenProcessIo(const std::string& in, const std::string& out,
                                const std::string& err, bool terminal) {
  ProcessIo io;
  if (terminal) {
    io.process = PODSHIM_TRY(OpenTaskStdio("", "", ""));
    TaskStdio fifos = PODSHIM_TRY(OpenTerminalFifos(in, out));
    io.shim.stdin_fifo = std::move(fifos.in);
    io.shim.stdout_fifo = std::move(fifos.out);
    if (!in.empty()) io.shim.stdin_keep = PODSHIM_TRY(OpenFifoKeeper(in));
    return io;
  }
  io.process = PODSHIM_TRY(OpenTaskStdio("", out, err));
  if (in.empty()) return io;
  PumpedStdin pumped = PODSHIM_TRY(OpenPumpedStdin(in));
  io.process.in = std::move(pumped.process_end);
  io.shim.stdin_fifo = std::move(pumped.fifo);
  io.shim.stdin_keep = std::move(pumped.keep);
  io.shim.stdin_pipe = std::move(pumped.pump_end);
  return io;
}

}  // namespace

fs::path TaskStateRoot(const fs::path& bundle) { return bundle / ".podshim"; }
oci::StateDir TaskOciStateDir(const fs::path& bundle) {
  return oci::StateDir(TaskStateRoot(bundle) / "oci");
}
// No fsync: a record must survive a crash of the shim, which the page cache does; after a crash
// of the machine containerd's state (normally on a tmpfs /run) and the task are gone anyway, and
// on a disk an fsync'd record took 7 ms of every exit (docs/decisions.md).
ExitRecords TaskExitRecords(const fs::path& bundle) {
  return ExitRecords(TaskStateRoot(bundle), sys::Sync::kPageCache);
}

Result<CreatedTask> OciTaskRuntime::Create(const TaskLaunch& launch) {
  const TaskKey& key = launch.key;
  const fs::path rootfs = key.bundle / "rootfs";
  // Opened first: a bad FIFO path mounts nothing.
  ProcessIo pio = PODSHIM_TRY(
      OpenProcessIo(launch.stdin_path, launch.stdout_path, launch.stderr_path, launch.terminal));
  TaskStdio& io = pio.process;
  CreatedTask created = std::move(pio.shim);
  // A terminal's master comes over a socketpair: the container sends it during create.
  std::pair<UniqueFd, UniqueFd> console;
  if (launch.terminal) console = PODSHIM_TRY(ConsoleSocketPair());
  if (!launch.rootfs.empty()) PODSHIM_TRY(MountRootfs(launch.rootfs, rootfs));
  ScopeGuard unmount([&] {
    if (!launch.rootfs.empty()) (void)UnmountRootfs(rootfs);
  });
  const oci::StateDir dir = TaskOciStateDir(key.bundle);
  OciCreateRequest req;
  req.id = key.id;
  req.bundle = key.bundle;
  req.stdio[0] = io.in.get();
  req.stdio[1] = io.out.get();
  req.stdio[2] = io.err.get();
  req.console_socket_fd = console.second.get();
  req.refuse_systemd_cgroups_path = true;  // containerd means systemd by it (docs/decisions.md)
  if (create_in_forked_child_) {
    PODSHIM_TRY(RunInForkedChild([&] { return OciCreate(dir, req); }));
  } else {
    PODSHIM_TRY(OciCreate(dir, req));
  }
  // Our copies of the stdio close on return: the container holds the only ones.
  auto state = dir.Load(key.id);
  if (state && launch.terminal) {
    console.second.Reset();
    auto master = oci::ReceiveConsoleMaster(console.first.get());
    if (master) created.master = std::move(*master);
    if (!master) state = std::move(master).error().Wrap("container " + key.id + ": pty master");
  }
  if (!state) {
    (void)OciDelete(dir, key.id, /*force=*/true);
    return std::move(state).error();
  }
  unmount.Dismiss();
  created.pid = state->pid;
  created.annotations = std::move(state->annotations);
  return created;
}

Result<CreatedTask> OciTaskRuntime::StartExec(const ExecLaunch& launch) {
  const bool terminal = launch.process.terminal;
  ProcessIo pio = PODSHIM_TRY(
      OpenProcessIo(launch.stdin_path, launch.stdout_path, launch.stderr_path, terminal));
  std::pair<UniqueFd, UniqueFd> console;
  if (terminal) console = PODSHIM_TRY(ConsoleSocketPair());
  UniqueFd cgroup;
  if (!launch.cgroup_dir.empty()) {
    cgroup = PODSHIM_TRY_WRAP(sys::Open(launch.cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                              "exec " + launch.exec_id + ": cgroup");
  }
  ExecSpawn spawn;
  spawn.id = launch.key.id;
  spawn.process = launch.process;
  spawn.stdio[0] = pio.process.in.get();
  spawn.stdio[1] = pio.process.out.get();
  spawn.stdio[2] = pio.process.err.get();
  spawn.console_socket_fd = console.second.get();
  spawn.cgroup_dir_fd = cgroup ? cgroup.get() : -1;
  spawn.seccomp = &exec_seccomp_[{launch.key.bundle, launch.key.id}];
  ChildGuard child(PODSHIM_TRY(SpawnExec(TaskOciStateDir(launch.key.bundle), spawn)));
  CreatedTask created = std::move(pio.shim);
  if (terminal) {
    console.second.Reset();
    created.master = PODSHIM_TRY_WRAP(oci::ReceiveConsoleMaster(console.first.get()),
                                      "exec " + launch.exec_id + ": pty master");
  }
  created.pid = std::move(child).Release().pid();  // the caller reaps it (its pidfd closes)
  return created;
}

Status OciTaskRuntime::SignalProcess(pid_t pid, int sig) {
  if (::kill(pid, sig) < 0) return Error::Errno(errno, "signal " + std::to_string(pid));
  return Ok();
}

Status OciTaskRuntime::Start(const TaskKey& key) {
  return OciStart(TaskOciStateDir(key.bundle), key.id);
}

Status OciTaskRuntime::Signal(const TaskKey& key, int sig) {
  return OciKill(TaskOciStateDir(key.bundle), key.id, sig);
}

Status OciTaskRuntime::SignalAll(const TaskKey& key, int sig) {
  Status all = OciKillAll(TaskOciStateDir(key.bundle), key.id, sig);
  // No cgroup (a host without cgroup2): the init is all we know of.
  if (!all && IsUnsupported(all.error())) return Signal(key, sig);
  return all;
}

Result<std::vector<pid_t>> OciTaskRuntime::Pids(const TaskKey& key) {
  const oci::StateDir dir = TaskOciStateDir(key.bundle);
  auto pids = OciPids(dir, key.id);
  if (pids || !IsUnsupported(pids.error())) return pids;
  oci::ContainerState state = PODSHIM_TRY(dir.Load(key.id));
  return std::vector<pid_t>{state.pid};
}

Result<std::filesystem::path> OciTaskRuntime::CgroupDir(const TaskKey& key) {
  oci::ContainerState state = PODSHIM_TRY(TaskOciStateDir(key.bundle).Load(key.id));
  return state.CgroupDir();
}

Status OciTaskRuntime::Update(const TaskKey& key, const std::string& resources_json,
                              const std::string& field) {
  return OciUpdate(TaskOciStateDir(key.bundle), key.id, resources_json, field);
}

Status OciTaskRuntime::Pause(const TaskKey& key) {
  return OciPause(TaskOciStateDir(key.bundle), key.id);
}

Status OciTaskRuntime::Resume(const TaskKey& key) {
  return OciResume(TaskOciStateDir(key.bundle), key.id);
}

Status OciTaskRuntime::ResizePty(int master, uint16_t width, uint16_t height) {
  struct winsize size {};
  size.ws_col = width;
  size.ws_row = height;
  if (::ioctl(master, TIOCSWINSZ, &size) < 0) return Error::Errno(errno, "resize pty (TIOCSWINSZ)");
  return Ok();
}

Status OciTaskRuntime::RecordExit(const TaskKey& key, int exit_status, bool oom) {
  return TaskExitRecords(key.bundle).Write(key.id, ExitRecord{exit_status, oom});
}

Status OciTaskRuntime::Remove(const TaskKey& key) {
  exec_seccomp_.erase({key.bundle, key.id});
  const oci::StateDir dir = TaskOciStateDir(key.bundle);
  // Exec cgroups left below the container's (a crashed shim's) would keep it from going.
  if (auto state = dir.Load(key.id); state && !state->cgroup_path.empty()) {
    (void)RemoveExecCgroups(state->CgroupDir());
  }
  // force: a running container is killed too (the service only removes created or stopped ones).
  PODSHIM_TRY(OciDelete(dir, key.id, /*force=*/true));
  PODSHIM_TRY(UnmountRootfs(key.bundle / "rootfs"));
  std::error_code ec;
  fs::remove(dir.root(), ec);  // only when empty: other tasks of the bundle keep theirs
  return Ok();
}

}  // namespace podshim::shim::task
