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

namespace podshim::shim {

// A container process the new shim takes back.
struct AdoptedInstance {
  std::string container;
  ProcessHandle handle;
  std::optional<cgroups::CgroupPath> leaf;
  // The new shim is its parent (an upgrade: exec keeps the pid): SIGCHLD reaps it as usual.
  // Otherwise only its pidfd tells that it ended, and its exit status is unknown.
  bool child = false;
  // Its start time (/proc stat field 22): names its exit file if a keeper reaps it.
  uint64_t start_ticks = 0;
  // The read ends of its stdout and stderr pipes, when something kept them while no shim was
  // alive (an upgrade's hand-over, a pod keeper: AttachHeldPipes): pumped on into the instance's
  // log, <restart_count>.log.
  int restart_count = 0;
  UniqueFd out;
  UniqueFd err;
};

// What the event loop does before anything else when it takes a pod over (event_loop.h).
struct LoopRecovery {
  std::vector<PodEvent> missing_events;  // the journal's events the dead shim never wrote
  std::vector<AdoptedInstance> adopted;
  // Running per the journal, gone now: the exit read where it could be (an exit record written
  // after the instance started, a zombie's status), else ContainerExit::Unknown().
  std::vector<std::pair<std::string, ContainerExit>> ended;
  // Being launched when the shim died: what got into their leaves was killed; launch again.
  std::vector<LaunchAction> relaunch;
  // Running, with a postStart hook the dead shim ran and never saw return.
  std::vector<std::string> poststart_unknown;
};

// The process the journal says runs a container, if it still does and is the same one.
Result<std::optional<ProcessHandle>> TakeBackProcess(const ReplayedStart& start);

// The lines of `replayed` (formatted for `pod`) that `written` (the lines of events.jsonl)
// lacks, in order; each written line answers for one replayed line. Pure.
std::vector<PodEvent> MissingEvents(const std::vector<PodEvent>& replayed,
                                    const std::vector<std::string>& written, std::string_view pod);

// Compares the rebuilt supervisor `sup` with the host. `cgroups` (nullptr without) must hold
// the adopted pod cgroup `pod_cgroup`; the leaves of launches the dead shim never reported are
// killed and removed.
Result<LoopRecovery> PlanRecovery(const Supervisor& sup, const ReplayOutcome& replay,
                                  const std::vector<std::string>& written_events,
                                  std::string_view pod, const ExitRecords& records,
                                  cgroups::CgroupManager* cgroups,
                                  const std::optional<cgroups::CgroupPath>& pod_cgroup);

// Gives each adopted instance the pipes `held` keeps for it (same container and restart count);
// the others (instances that ended) are closed. Pure but for the fds.
void AttachHeldPipes(std::vector<AdoptedInstance>& adopted, std::vector<HeldPipe> held);

}  // namespace podshim::shim
