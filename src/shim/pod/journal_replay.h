// Rebuilding a supervisor from its journal: a fresh Supervisor (over the same plan) is given
// every journaled input again, each at the clock reading it was first applied at. The supervisor
// is deterministic, so it ends in the state the dead shim's was in, deadlines and back-off
// included, and emits the same events with the same times (which tells the recovering shim which
// of them the dead shim never wrote). The actions are dropped: they were carried out. No I/O.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "shim/pod/input_clock.h"
#include "shim/pod/supervisor.h"
#include "shim/pod/supervisor_input.h"

namespace podshim::shim {

// The latest start of one container the journal shows.
struct ReplayedStart {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // /proc/<pid>/stat starttime
  std::string leaf;          // "" without cgroups
  WallTime wall{};           // when it was reported running
};

struct ReplayOutcome {
  std::vector<PodEvent> events;                 // every event emitted, in order
  std::map<std::string, ReplayedStart> starts;  // by container
  size_t inputs = 0;
  Clock::TimePoint last_now{};  // the last input's reading
};

// Replays `entries` into `sup`, which must be fresh and read `clock`. The first entry must be
// the Start input. Inputs the supervisor refused are refused again, as they were the first time.
// Afterwards `clock` still shows the last entry's reading.
Result<ReplayOutcome> ReplayJournal(const std::vector<JournalEntry>& entries, Supervisor& sup,
                                    InputClock& clock);

}  // namespace podshim::shim
