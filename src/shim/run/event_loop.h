// EventLoop: the Boost.Asio shell around the Supervisor (one io_context, one thread). A signalfd
// delivers SIGCHLD (reap everything as child subreaper, write the exit record, report the exit),
// SIGTERM/SIGINT (first: graceful stop; second: kill now); one steady_timer waits for the
// supervisor's NextDeadline(). It carries out the supervisor's actions (launch into the
// container's leaf cgroup, signal through pidfds, cgroup.kill, hooks, events), runs each
// container's probes, and serves the control socket (it is the control::ControlHandler).
// Unit tests drive it through fakes of the launcher, the cgroup manager, the clock and the two
// seams of loop_sources.h (tests/unit/shim/run/event_loop_*_test.cc).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/manager.h"
#include "common/clock.h"
#include "common/result.h"
#include "oci/launcher.h"
#include "oci/spec.h"
#include "shim/manifest/manifest.h"
#include "shim/pod/input_clock.h"
#include "shim/pod/supervisor.h"
#include "shim/record/events.h"
#include "shim/record/exit_records.h"
#include "shim/record/status.h"
#include "shim/record/supervisor_journal.h"
#include "shim/run/pod_recovery.h"
#include "signals/pidfd.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace podshim::shim {

class PodKeeper;
class SignalSource;
class WakeTimer;

// What `ctl upgrade` hands the next image besides the control socket and the output pipes
// (shim_upgrade.h).
struct UpgradeContext {
  std::vector<std::string> argv;      // the shim's command line as it was started
  std::string cwd;                    // and its cwd then
  int lock_fd = -1;                   // the state dir's lock (ShimLock::fd())
  std::map<std::string, int> ns_fds;  // PodSandbox::namespace_fds()
  int64_t handovers = 0;              // upgrades this process went through so far
  int keeper_fd = -1;                 // the socket to the pod keeper (pod_keeper.h); -1: none
};

// Everything the loop works with; the caller owns it all and keeps it alive during Run().
struct EventLoopConfig {
  const Pod* pod = nullptr;
  Supervisor* supervisor = nullptr;
  const Clock* clock = nullptr;
  // The clock `supervisor` reads, set from `clock` before each input; nullptr: the supervisor
  // reads `clock` itself.
  InputClock* input_clock = nullptr;
  // Every supervisor input is appended here before it is applied; nullptr: no journal.
  SupervisorJournal* journal = nullptr;
  // Set when this shim takes over a running pod (a crashed or upgraded shim's): Run() neither
  // emits PodStarted nor starts the supervisor (rebuilt from the journal already) but takes
  // back what `recovery` lists first.
  std::optional<LoopRecovery> recovery;
  // Journaled with the Start input ("sha256:<hex>" of the manifest): a recovery refuses another.
  std::string manifest_digest;
  // The prepared spec (pod namespaces and mounts applied) of every container, by name. This and
  // `container_values` move into the loop's ContainerSlots (container_slot.h) when it is made.
  std::map<std::string, oci::Spec> specs;
  // The pod cgroup's manager, nullptr to run without cgroups. Leaves are created on first
  // launch and get `container_values` applied.
  cgroups::CgroupManager* cgroups = nullptr;
  std::map<std::string, cgroups::CgroupFileValues> container_values;
  oci::ProcessLauncher* launcher = nullptr;
  signals::Signaller* signaller = nullptr;
  EventWriter* events = nullptr;
  ExitRecords* exit_records = nullptr;
  std::filesystem::path status_path;
  std::filesystem::path log_dir;
  PodStatusContext status_context;
  // The pod cgroup (for `stats`); nullopt without cgroups.
  std::optional<cgroups::CgroupPath> pod_cgroup;
  // The pod's network namespace (probes and httpGet hooks connect from inside it); -1 for
  // hostNetwork.
  int netns_fd = -1;
  // The control socket (<state-dir>/podshim.sock); empty: none.
  std::filesystem::path control_socket;
  // A socket already listening at control_socket, handed over by an upgrade; -1: bind afresh.
  int control_listen_fd = -1;
  // Set: `ctl upgrade` is served with it; nullptr: upgrades are refused.
  std::optional<UpgradeContext> upgrade;
  // Set in an image an upgrade exec'd (with `recovery`): the version it replaced. Run() writes
  // the one ShimUpgraded event before it takes the pod back.
  std::string upgraded_from;
  // Called once the control socket listens, before the pod starts (`podshim start` reports to
  // its caller then). Not called when listening failed: Run() returns that error.
  std::function<void()> on_listening;
  // The pod keeper (pod_keeper.h): gets every new instance's stdout and stderr read ends to hold
  // while no shim is alive; nullptr: none (`run`, unit tests).
  PodKeeper* keeper = nullptr;
  // Seams for unit tests (loop_sources.h); nullptr: the real signalfd and reaper, and a
  // steady_timer for the supervisor's deadlines.
  SignalSource* signal_source = nullptr;
  WakeTimer* wake_timer = nullptr;
};

struct PodOutcome {
  PodPhase phase = PodPhase::kFailed;
  TerminationReason reason = TerminationReason::kCompleted;
  std::optional<int> shim_signal;  // the first SIGTERM/SIGINT the shim received
};

// The exit status of `podshim run` for an outcome: 128+N after signal N, 0 Succeeded, 1 other.
int RunExitStatus(const PodOutcome& outcome);

class EventLoop {
 public:
  explicit EventLoop(EventLoopConfig config);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Blocks SIGCHLD/SIGTERM/SIGINT into a signalfd, becomes child subreaper, listens on the
  // control socket, writes the PodStarted event, starts the supervisor and runs until the pod
  // finished. Every container process has exited and been reaped when it returns, and the
  // control socket is closed (clients following events got every event first).
  Result<PodOutcome> Run();

  // The loop's io_context: work posted to it before or during Run() runs on the loop's thread
  // (unit tests post their steps here).
  boost::asio::io_context& io();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podshim::shim
