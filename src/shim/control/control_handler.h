// ControlHandler: what the control server asks of the pod. The event loop implements it over the
// supervisor; tests use a fake. Every call is made on the io_context thread, and the exec
// callback must be invoked there too (one thread, one io_context: STYLE.md section 6).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "shim/control/control_protocol.h"

namespace podshim::shim::control {

class ControlHandler {
 public:
  virtual ~ControlHandler() = default;

  // The pod status as status.json holds it (PodStatusJson).
  virtual Reply<std::string> Status() = 0;

  // Starts the ordered termination, or shortens the grace period of one under way. `grace` may
  // only shorten the pod's terminationGracePeriodSeconds; a longer value is kept at the pod's.
  virtual Reply<StopResult> Stop(std::optional<std::chrono::seconds> grace) = 0;

  // Sends `signal` to the container's main process. kUnknownContainer for a name not in the pod.
  virtual Reply<KillResult> Kill(const std::string& container, int signal) = 0;

  // Kills the container and starts it again (its restartCount grows).
  virtual Reply<RestartResult> Restart(const std::string& container) = 0;

  // Runs argv inside the container, like an exec probe. `done` is called exactly once, on the
  // io_context thread, possibly after the client has gone (the server then drops the result).
  // The handler must not call `done` from inside Exec. Cap stdout and stderr (1 MiB each, as
  // for probes): a response over ControlServerOptions::max_queued_bytes drops the client.
  using ExecDone = std::function<void(Reply<ExecResult>)>;
  virtual void Exec(const ExecRequest& request, ExecDone done) = 0;

  virtual Reply<StatsResult> Stats() = 0;

  // At most `max_count` recorded events with seq >= from_seq, in order; fewer (or none) when
  // the log ends. Events are numbered from 1 in the order they were written.
  virtual std::vector<EventRecord> EventsFrom(uint64_t from_seq, std::size_t max_count) = 0;

  // The sequence number the next event will get (1 + the number of events so far).
  virtual uint64_t NextEventSeq() = 0;

  // True once PodFinished was written: no event will follow.
  virtual bool PodFinished() = 0;

  // The running binary's version (`version`).
  virtual VersionResult Version() { return CurrentVersion(); }

  // Checks `binary` and accepts or refuses to re-execute the shim with it (docs/control-api.md
  // "upgrade"). On acceptance the server writes the reply and then calls UpgradeReplied() from
  // a fresh turn of the loop (also when the client went away first): that is where the shim
  // execs. A handler without upgrades refuses.
  virtual Reply<UpgradeResult> Upgrade(const std::string& binary) {
    (void)binary;
    return std::unexpected(ControlError{ErrorCode::kUnavailable, "this shim cannot upgrade"});
  }
  virtual void UpgradeReplied() {}
};

}  // namespace podshim::shim::control
