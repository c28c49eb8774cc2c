#include "shim/pod/journal_replay.h"

#include <variant>

namespace podshim::shim {

Result<ReplayOutcome> ReplayJournal(const std::vector<JournalEntry>& entries, Supervisor& sup,
                                    InputClock& clock) {
  ReplayOutcome out;
  if (entries.empty()) return out;
  if (entries.front().input.kind != SupervisorInput::Kind::kStart) {
    return Error::Invalid("the supervisor journal does not begin with the pod's start");
  }
  for (const JournalEntry& e : entries) {
    clock.Set(e.now, e.wall);
    (void)ApplyInput(sup, e.input);  // a refusal is replayed as it happened
    if (e.input.kind == SupervisorInput::Kind::kStarted) {
      out.starts[e.input.container] = {e.input.pid, e.input.start_ticks, e.input.leaf, e.wall};
    }
    for (SupervisorAction& a : sup.TakeActions()) {
      if (auto* emit = std::get_if<EmitAction>(&a)) out.events.push_back(std::move(emit->event));
    }
    ++out.inputs;
    out.last_now = e.now;
  }
  return out;
}

}  // namespace podshim::shim
