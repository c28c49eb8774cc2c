// Taking back the pod of a shim that died (or exec'd a newer binary): after the supervisor was
// rebuilt from its journal (pod/journal_replay.h), PlanRecovery compares what the journal says
// runs with what does. Each container the journal shows running is taken back when its process
// is provably the same (pidfd opened first, then the start time from /proc and the leaf cgroup
// checked against the journal, then the pidfd polled); otherwise it ended unseen.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cgroups/manager.h"
#include "common/process_handle.h"
#include "common/result.h"
#include "shim/pod/journal_replay.h"
#include "shim/pod/supervisor.h"
#include "shim/record/exit_records.h"
#include "shim/run/pod_keeper.h"
#include "shim/run/shim_upgrade.h"

namespace podshim::shim {

// A container process the new shim takes back.
struct AdoptedInstance {
  std::string container;
  ProcessHandle handle;
  std::optional<cgroups::CgroupPath> leaf;
  // The new shim is its parent (an upgrade: exec keeps the pid): SIGCHLD reaps it as usual.
  // Otherwise only its pidfd tells that it ended, and its status is read where it can be
  // (AdoptedExit).
  bool child = false;
  uint64_t start_ticks = 0;  // /proc/<pid>/stat field 22
  int restart_count = 0;     // the instance's (its log is <restart_count>.log)
};

// What the event loop does before anything else when it takes a pod over (event_loop.h).
struct LoopRecovery {
  std::vector<PodEvent> missing_events;  // the journal's events the dead shim never wrote
  std::vector<AdoptedInstance> adopted;
  // Running per the journal, gone now: the exit read where it could be (AdoptedExit, or an exit
  // record written after the instance started), else ContainerExit::Unknown().
  std::vector<std::pair<std::string, ContainerExit>> ended;
  // Being launched when the shim died: what got into their leaves was killed; launch again.
  std::vector<LaunchAction> relaunch;
  // Running, with a postStart hook the dead shim ran and never saw return.
  std::vector<std::string> poststart_unknown;
  // The output pipes of adopted instances that the image before (an upgrade) or the dead shim's
  // keeper (AttachHeldPipes) held, pumped on into their logs.
  std::vector<HandedPipe> pipes;
  // The dead shim's keeper lives and reaps the adopted processes: each one's exit file appears
  // in `orphan_exits` a moment after it ended (the loop waits for it briefly).
  bool keeper_reaps = false;
  std::filesystem::path orphan_exits;  // <state-dir>/orphan-exits (keeper_protocol.h)
};

// The process the journal says runs a container, if it still does and is the same one.
Result<std::optional<ProcessHandle>> TakeBackProcess(const ReplayedStart& start);

// The lines of `replayed` (formatted for `pod`) that `written` (the lines of events.jsonl)
// lacks, in order; each written line answers for one replayed line. Pure.
std::vector<PodEvent> MissingEvents(const std::vector<PodEvent>& replayed,
                                    const std::vector<std::string>& written, std::string_view pod);

// How the process `pid` started at `start_ticks`, which is not our child, ended, if that can
// still be read: as a zombie nobody reaped yet (/proc/<pid>/stat; the start time tells it from a
// later process with the pid), or in the exit file a pod keeper wrote when it reaped it (in
// `orphan_exits`; empty: none).
std::optional<ContainerExit> AdoptedExit(pid_t pid, uint64_t start_ticks,
                                         const std::filesystem::path& orphan_exits);

// Compares the rebuilt supervisor `sup` with the host. `cgroups` (nullptr without) must hold
// the adopted pod cgroup `pod_cgroup`; the leaves of launches the dead shim never reported are
// killed and removed. `orphan_exits` is the dir a pod keeper writes its orphans' exits to.
Result<LoopRecovery> PlanRecovery(const Supervisor& sup, const ReplayOutcome& replay,
                                  const std::vector<std::string>& written_events,
                                  std::string_view pod, const ExitRecords& records,
                                  cgroups::CgroupManager* cgroups,
                                  const std::optional<cgroups::CgroupPath>& pod_cgroup,
                                  const std::filesystem::path& orphan_exits);

// Adds to `r.pipes` each pipe in `held` of an adopted instance (same container and restart
// count); the others (of instances that ended) are closed. Pure but for the fds.
void AttachHeldPipes(LoopRecovery& r, std::vector<HeldPipe> held);

}  // namespace podshim::shim
