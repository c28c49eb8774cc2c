// SupervisorInput: each thing the event loop tells the Supervisor, as a value. The loop journals
// every input (record/supervisor_journal.h) before applying it, so that a recovered or upgraded
// shim rebuilds the supervisor's whole state by applying the same inputs again at the same
// clock readings (journal_replay.h). ApplyInput is the one place that maps an input to a call.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "shim/pod/supervisor.h"

namespace podshim::shim {

struct SupervisorInput {
  enum class Kind {
    kStart,              // Start()
    kStarted,            // OnContainerStarted(container, pid)
    kStartFailed,        // OnStartFailed(container, message)
    kExited,             // OnContainerExited(container, exit)
    kStartupSucceeded,   // OnStartupSucceeded(container)
    kReadinessChanged,   // OnReadinessChanged(container, flag)
    kPostStartFinished,  // OnPostStartFinished(container, flag)
    kProbeKill,          // OnProbeKill(container, grace)
    kRestartRequest,     // OnRestartRequest(container)
    kPreStopFinished,    // OnPreStopFinished(container)
    kStopRequest,        // OnStopRequest(reason, grace)
    kDeadline,           // OnDeadline()
  };
  Kind kind = Kind::kDeadline;
  std::string container;
  pid_t pid = 0;        // kStarted
  std::string message;  // kStartFailed; kStart: the manifest's digest ("sha256:...")
  ContainerExit exit;   // kExited
  bool flag = false;    // kReadinessChanged: ready; kPostStartFinished: success
  std::optional<std::chrono::seconds> grace;              // kProbeKill, kStopRequest
  TerminationReason reason = TerminationReason::kSignal;  // kStopRequest
  // kStarted, for the shim that takes the process back: its start time in clock ticks since
  // boot (/proc/<pid>/stat field 22) and its leaf cgroup ("" without cgroups). Not used by
  // the supervisor.
  uint64_t start_ticks = 0;
  std::string leaf;

  bool operator==(const SupervisorInput&) const = default;

  // An input of `kind` about `container` ("" for the pod), every other field at its default.
  static SupervisorInput Of(Kind kind, std::string_view container = {}) {
    SupervisorInput in;
    in.kind = kind;
    in.container = std::string(container);
    return in;
  }
  static SupervisorInput Exited(std::string_view container, ContainerExit exit) {
    SupervisorInput in = Of(Kind::kExited, container);
    in.exit = exit;
    return in;
  }
  static SupervisorInput WithFlag(Kind kind, std::string_view container, bool flag) {
    SupervisorInput in = Of(kind, container);
    in.flag = flag;
    return in;
  }
  static SupervisorInput StopRequest(TerminationReason reason,
                                     std::optional<std::chrono::seconds> grace) {
    SupervisorInput in = Of(Kind::kStopRequest);
    in.reason = reason;
    in.grace = grace;
    return in;
  }
};

// One input with the clock reading it was applied at: a line of the supervisor journal.
struct JournalEntry {
  Clock::TimePoint now{};
  std::chrono::system_clock::time_point wall{};
  SupervisorInput input;
  bool operator==(const JournalEntry&) const = default;
};

// "Start", "Started", ... (the journal's `in` values).
std::string_view SupervisorInputName(SupervisorInput::Kind kind);
std::optional<SupervisorInput::Kind> ParseSupervisorInputName(std::string_view name);

// Calls the Supervisor method the input stands for and returns what it returned.
Status ApplyInput(Supervisor& sup, const SupervisorInput& input);

}  // namespace podshim::shim
