#include "shim/run/pod_recovery.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "common/proc_stat.h"
#include "common/sys.h"
#include "shim/keeper/keeper_protocol.h"
#include "shim/record/events.h"

namespace podshim::shim {
namespace {

// The cgroup v2 path of `leaf` as /proc/<pid>/cgroup shows it (the shim runs in the host's
// cgroup namespace): "/" + the path below the mount.
bool InLeaf(const std::string& proc_path, const std::string& leaf) {
  const std::string want = "/" + leaf;
  return proc_path == want || proc_path.starts_with(want + "/");
}

ContainerExit FromWaitStatus(int status) {
  if (WIFSIGNALED(status)) return ContainerExit::Signalled(WTERMSIG(status));
  return ContainerExit::Code(WEXITSTATUS(status));
}

// How `container`'s instance started at `start` ended, as far as anything tells.
ContainerExit EndedExit(const std::string& container, const ReplayedStart& start,
                        const ExitRecords& records, const std::filesystem::path& orphan_exits) {
  if (auto exit = AdoptedExit(start.pid, start.start_ticks, orphan_exits)) return *exit;
  // The dead shim reaped it and wrote the record, then died before it journaled the exit.
  struct stat fst {};
  const std::filesystem::path exit_file = records.Dir(container) / "exit";
  if (::stat(exit_file.c_str(), &fst) == 0) {
    const auto written = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(fst.st_mtim.tv_sec) +
            std::chrono::nanoseconds(fst.st_mtim.tv_nsec)));
    auto record = records.Read(container);
    if (written >= start.wall && record && *record) {
      ContainerExit exit = ContainerExit::Code((*record)->status);
      if ((*record)->status > 128 && (*record)->status < 128 + 65) {
        exit.signal = (*record)->status - 128;
      }
      exit.oom = (*record)->oom;
      return exit;
    }
  }
  return ContainerExit::Unknown();
}

}  // namespace

std::optional<ContainerExit> AdoptedExit(pid_t pid, uint64_t start_ticks,
                                         const std::filesystem::path& orphan_exits) {
  auto st = ReadProcStat(pid);
  if (st && st->start_ticks == start_ticks && st->state == 'Z' && st->exit_status) {
    return FromWaitStatus(*st->exit_status);
  }
  if (orphan_exits.empty() || start_ticks == 0) return std::nullopt;
  const std::filesystem::path file = orphan_exits / keeper::OrphanExitName(pid, start_ticks);
  auto text = sys::ReadFile(file);
  if (!text) return std::nullopt;
  auto e = keeper::ParseOrphanExit(*text);
  if (!e) {
    spdlog::warn("{}: {}", file.string(), e.error().ToString());
    return std::nullopt;
  }
  return e->signalled ? ContainerExit::Signalled(e->value) : ContainerExit::Code(e->value);
}

Result<std::optional<ProcessHandle>> TakeBackProcess(const ReplayedStart& start) {
  auto pidfd = sys::PidfdOpen(start.pid);
  if (!pidfd) {
    if (pidfd.error().code() == std::errc::no_such_process) return std::nullopt;
    return std::move(pidfd).error();
  }
  auto st = ReadProcStat(start.pid);
  if (!st || st->start_ticks != start.start_ticks || st->state == 'Z') return std::nullopt;
  if (!start.leaf.empty()) {
    auto cgroup = ReadProcCgroupV2(start.pid);
    if (!cgroup || !InLeaf(*cgroup, start.leaf)) return std::nullopt;
  }
  // Opened before the checks: if the pid was reused since, this pidfd is the old process's,
  // which has exited.
  pollfd p{pidfd->get(), POLLIN, 0};
  if (::poll(&p, 1, 0) != 0) return std::nullopt;
  return ProcessHandle(start.pid, std::move(*pidfd));
}

std::vector<PodEvent> MissingEvents(const std::vector<PodEvent>& replayed,
                                    const std::vector<std::string>& written, std::string_view pod) {
  std::map<std::string_view, size_t> have;
  for (const std::string& line : written) ++have[line];
  std::vector<PodEvent> missing;
  for (const PodEvent& e : replayed) {
    const std::string line = EventToJsonLine(e, pod);
    auto it = have.find(line);
    if (it != have.end() && it->second > 0) {
      --it->second;
    } else {
      missing.push_back(e);
    }
  }
  return missing;
}

Result<LoopRecovery> PlanRecovery(const Supervisor& sup, const ReplayOutcome& replay,
                                  const std::vector<std::string>& written_events,
                                  std::string_view pod, const ExitRecords& records,
                                  cgroups::CgroupManager* cgroups,
                                  const std::optional<cgroups::CgroupPath>& pod_cgroup,
                                  const std::filesystem::path& orphan_exits) {
  LoopRecovery r;
  r.orphan_exits = orphan_exits;
  r.missing_events = MissingEvents(replay.events, written_events, pod);
  const PodSnapshot snap = sup.Snapshot();
  for (const ContainerSnapshot& c : snap.containers) {
    if (c.state.kind != StateSnapshot::Kind::kRunning) continue;
    auto start = replay.starts.find(c.name);
    if (start == replay.starts.end()) {
      return Error::Invalid("the journal shows " + c.name + " running but never its start");
    }
    std::optional<ProcessHandle> handle = PODSHIM_TRY(TakeBackProcess(start->second));
    if (!handle) {
      ContainerExit exit = EndedExit(c.name, start->second, records, orphan_exits);
      spdlog::warn("{} (pid {}) ended while no shim watched it: {}", c.name, start->second.pid,
                   exit.unknown ? "exit status unknown" : "exit " + std::to_string(exit.exit_code));
      r.ended.emplace_back(c.name, exit);
      continue;
    }
    AdoptedInstance a;
    a.container = c.name;
    a.handle = std::move(*handle);
    if (!start->second.leaf.empty()) {
      a.leaf = PODSHIM_TRY(cgroups::CgroupPath::Parse(start->second.leaf));
    }
    auto st = ReadProcStat(start->second.pid);
    a.child = st && st->ppid == ::getpid();
    a.start_ticks = start->second.start_ticks;
    a.restart_count = c.restart_count;
    r.adopted.push_back(std::move(a));
  }
  for (const std::string& name : sup.AwaitingPostStart()) {
    for (const AdoptedInstance& a : r.adopted) {
      if (a.container == name) r.poststart_unknown.push_back(name);
    }
  }
  for (const std::string& name : sup.Launching()) {
    int restart_count = 0;
    for (const ContainerSnapshot& c : snap.containers) {
      if (c.name == name) restart_count = c.restart_count;
    }
    if (cgroups && pod_cgroup) {
      // Whatever the dead shim got into the new leaf is killed: the launch starts over.
      auto leaf =
          pod_cgroup->Child(cgroups::InstanceLeafName(name, static_cast<uint64_t>(restart_count)));
      if (leaf && std::filesystem::exists(cgroups->FullPath(*leaf))) {
        (void)cgroups->Kill(*leaf);
        Status removed = cgroups->Remove(*leaf);
        if (!removed) spdlog::warn("{}: {}", name, removed.error().ToString());
      }
    }
    r.relaunch.push_back({name, restart_count});
  }
  return r;
}

void AttachHeldPipes(LoopRecovery& r, std::vector<HeldPipe> held) {
  for (HeldPipe& h : held) {
    for (const AdoptedInstance& a : r.adopted) {
      if (a.container != h.key.container || a.restart_count != h.key.restart_count) continue;
      const LogStream stream =
          h.key.stream == keeper::Stream::kStdout ? LogStream::kStdout : LogStream::kStderr;
      r.pipes.push_back({a.container, a.restart_count, stream, h.fd.Release(), ""});
      break;
    }
  }
}

}  // namespace podshim::shim
