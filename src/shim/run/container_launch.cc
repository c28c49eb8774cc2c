// A container launch, step by step: a fresh leaf cgroup with the container's limits, the log
// file and output pipes, the launch plan, the process, the log pumps, and the report to the
// supervisor and the probes. Also the retirement of an ended instance's leaf.
#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "common/proc_stat.h"
#include "shim/run/event_loop_impl.h"
#include "shim/run/pod_keeper.h"

namespace podshim::shim {

Status EventLoop::Impl::Launch(const LaunchAction& a) {
  ContainerSlot* slot = slots.Find(a.container);
  if (!slot || !slot->spec) {
    return Error::Domain(ErrorCode::kNotFound, "no container named " + a.container);
  }
  std::optional<cgroups::CgroupPath> leaf;
  if (config.cgroups) {
    leaf = PODSHIM_TRY(
        config.cgroups->CreateContainer(cgroups::InstanceLeafName(a.container, a.restart_count)));
  }
  Status launched = LaunchInto(a, *slot, leaf);
  // A start that failed leaves nothing running in the new leaf (a child killed at birth may still
  // be exiting): it goes the way of an ended instance's leaf.
  if (!launched && leaf) RetireLeaf(*slot, *leaf);
  return launched;
}

Status EventLoop::Impl::LaunchInto(const LaunchAction& a, ContainerSlot& slot,
                                   const std::optional<cgroups::CgroupPath>& leaf) {
  UniqueFd cgroup_fd;
  if (leaf) cgroup_fd = PODSHIM_TRY(PrepareLeaf(slot, *leaf));
  std::shared_ptr<CriLogFile> log = OpenLog(a.container, a.restart_count);
  LaunchStdio stdio;
  stdio.out = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
  stdio.err = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
  stdio.devnull = PODSHIM_TRY(sys::Open("/dev/null", O_RDONLY));
  ContainerInstance inst;
  inst.leaf = leaf;
  inst.handle = PODSHIM_TRY(StartProcess(slot, stdio, cgroup_fd.get(), inst));
  const pid_t pid = inst.handle.pid();
  HoldPipes(slot.name(), a.restart_count, stdio);
  StartPumps(slot, stdio, std::move(log), a.restart_count);
  slots.SetRunning(slot, std::move(inst));
  return ReportStarted(slot, pid);
}

// The new leaf becomes the container's (for `ctl stats`) and gets the container's limits, which
// go on every instance's leaf. Returns the fd the process is cloned into.
Result<UniqueFd> EventLoop::Impl::PrepareLeaf(ContainerSlot& slot,
                                              const cgroups::CgroupPath& leaf) {
  slot.leaf = leaf;
  if (slot.values) PODSHIM_TRY(config.cgroups->Apply(leaf, *slot.values));
  if (auto warning = config.cgroups->TakeWarning()) spdlog::warn("{}", *warning);
  return config.cgroups->OpenDirFd(leaf);
}

// Builds the launch plan and starts the process; the OOM count of its leaf is read just before.
Result<ProcessHandle> EventLoop::Impl::StartProcess(ContainerSlot& slot, const LaunchStdio& stdio,
                                                    int cgroup_fd, ContainerInstance& inst) {
  oci::LaunchOptions opts;
  opts.container_id = slot.name();
  opts.stdin_fd = stdio.devnull.get();
  opts.stdout_fd = stdio.out.write.get();
  opts.stderr_fd = stdio.err.write.get();
  opts.cgroup_dir_fd = cgroup_fd;
  oci::LaunchPlan plan =
      PODSHIM_TRY(oci::BuildLaunchPlan(*slot.spec, slot.container->bundle, opts));
  if (inst.leaf) {
    auto before = config.cgroups->ReadOomKills(*inst.leaf);
    if (before) inst.oom_before = *before;
  }
  return config.launcher->Launch(plan);
}

// The keeper gets a copy of each read end: a container that writes while no shim is alive keeps
// a reader (its output waits in the pipe for the next shim) instead of dying of SIGPIPE.
void EventLoop::Impl::HoldPipes(const std::string& container, int restart_count,
                                const LaunchStdio& stdio) {
  if (!config.keeper) return;
  config.keeper->Hold({container, restart_count, keeper::Stream::kStdout}, stdio.out.read.get());
  config.keeper->Hold({container, restart_count, keeper::Stream::kStderr}, stdio.err.read.get());
}

// The write ends are closed here (the container holds its own copies) and the read ends pumped
// into the instance's log file.
void EventLoop::Impl::StartPumps(ContainerSlot& slot, LaunchStdio& stdio,
                                 std::shared_ptr<CriLogFile> log, int restart_count) {
  stdio.out.write.Reset();
  stdio.err.write.Reset();
  for (auto [fd, stream] : {std::pair{&stdio.out.read, LogStream::kStdout},
                            std::pair{&stdio.err.read, LogStream::kStderr}}) {
    auto pump = std::make_unique<LogPump>(io, std::move(*fd), stream, log, *config.clock);
    pump->set_instance(restart_count);
    pump->Start();
    slot.pumps.push_back(std::move(pump));
  }
  std::erase_if(slot.pumps, [](const auto& p) { return p->done(); });
}

Status EventLoop::Impl::ReportStarted(ContainerSlot& slot, pid_t pid) {
  SupervisorInput started = SupervisorInput::Of(SupervisorInput::Kind::kStarted, slot.name());
  started.pid = pid;
  // What a shim taking the pod over checks before it takes the process back (pod_recovery.h).
  if (auto st = ReadProcStat(pid)) started.start_ticks = st->start_ticks;
  if (slot.running && slot.running->leaf) started.leaf = slot.running->leaf->str();
  PODSHIM_TRY(Input(std::move(started)));
  if (slot.probes) slot.probes->OnContainerStarted();
  return Ok();
}

// The new instance's log file. One that cannot be opened (a full disk) does not keep the
// container from starting: its output is dropped until the file can be opened. The logs of
// instances before the previous one are removed (the kubelet keeps the current and the previous
// one).
std::shared_ptr<CriLogFile> EventLoop::Impl::OpenLog(const std::string& container,
                                                     int restart_count) {
  const std::filesystem::path path = ContainerLogPath(config.log_dir, container, restart_count);
  auto opened = CriLogFile::Open(path);
  if (!opened) {
    spdlog::error("log of {}: {}; its output is dropped until the file can be opened", container,
                  opened.error().ToString());
  }
  Status pruned = PruneContainerLogs(config.log_dir, container, restart_count);
  if (!pruned) spdlog::warn("old logs of {}: {}", container, pruned.error().ToString());
  return std::make_shared<CriLogFile>(opened ? std::move(*opened) : CriLogFile::Unopened(path));
}

// The instance that ran in `leaf` has ended (its exit was handled, or its start failed).
void EventLoop::Impl::RetireLeaf(ContainerSlot& slot, const cgroups::CgroupPath& leaf) {
  if (slot.leaf == leaf) slot.leaf.reset();
  retirer->Retire(slot.name(), leaf);
}

}  // namespace podshim::shim
