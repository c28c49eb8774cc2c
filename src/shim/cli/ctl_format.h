// Human-readable output of `podshim ctl` (the default; --json prints the raw response lines):
// the pod status as a table, one event per line, stats as a table, and the "shim is gone"
// report built from status.json and the exit records. Pure: JSON text in, text out.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shim/control/control_protocol.h"
#include "shim/record/exit_records.h"

namespace podshim::shim::control {

// "pod web: Running, ready, qos Burstable" + a table NAME ROLE STATE READY RESTARTS PID.
// Text that is not a status object is returned as it is (it is still worth showing).
std::string StatusText(std::string_view status_json);

// The container names of a status object, init containers first; empty for anything else.
std::vector<std::string> StatusContainerNames(std::string_view status_json);

// "2026-01-01T00:00:00.000000000Z ContainerExited web exitCode=1 reason=Error ..." for one event.
std::string EventText(std::string_view event_json);

// A table NAME ROLE CPU MEMORY PIDS OOM-KILLS RESTARTS, the pod first; "-" where unknown.
std::string StatsText(const StatsResult& stats);

// What `ctl status` prints when the shim does not answer: the last known status (if any) and
// every container's exit record ("none" where there is none: an exit is never made up).
struct ShimGoneReport {
  std::string socket_path;
  std::string reason;                      // "connection refused"
  std::optional<std::string> status_json;  // status.json, if it could be read
  std::string status_path;
  // Container -> its record; nullopt: no exit record; an error string: unreadable record.
  std::map<std::string, Result<std::optional<ExitRecord>>> exits;
};
std::string ShimGoneText(const ShimGoneReport& report);
std::string ShimGoneJson(const ShimGoneReport& report);

}  // namespace podshim::shim::control
