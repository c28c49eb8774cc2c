#include "shim/run/event_loop.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <list>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/quoted.h"
#include "common/sys.h"
#include "oci/launch_plan.h"
#include "shim/control/control_server.h"
#include "shim/record/container_logs.h"
#include "shim/record/state_writer.h"
#include "shim/run/container_exec.h"
#include "shim/run/container_probes.h"
#include "shim/run/hook_runner.h"
#include "shim/run/log_pump.h"
#include "shim/run/pod_stats.h"
#include "signals/reaper.h"
#include "signals/signal_fd.h"
#include "signals/signal_names.h"

namespace podshim::shim {

int RunExitStatus(const PodOutcome& outcome) {
  if (outcome.shim_signal) return 128 + *outcome.shim_signal;
  return outcome.phase == PodPhase::kSucceeded ? 0 : 1;
}

namespace {

using control::ControlError;
using control::Reply;

// After the pod finished, clients following the events get this long to receive the last ones.
constexpr auto kFinalFlush = std::chrono::milliseconds(200);
// An ended instance's leaf that is still busy is retried after 10 ms, doubling up to 1 s.
constexpr auto kRetireFirstRetry = std::chrono::milliseconds(10);
constexpr auto kRetireMaxRetry = std::chrono::milliseconds(1000);
// Exit records, events and status.json that could not be written (a full disk) are retried this
// often, and on every later write.
constexpr auto kStateRetry = std::chrono::milliseconds(500);

ControlError Unavailable(std::string message) {
  return {control::ErrorCode::kUnavailable, std::move(message)};
}

}  // namespace

struct EventLoop::Impl {
  class Control;

  struct Instance {
    ProcessHandle handle;
    std::optional<cgroups::CgroupPath> leaf;  // this instance's own leaf (nullopt: no cgroups)
    std::optional<uint64_t> oom_before;
  };

  explicit Impl(EventLoopConfig c)
      : config(std::move(c)),
        sig_desc(io),
        timer(io),
        retire_timer(io),
        state_timer(io),
        state(*config.exit_records, *config.events, config.status_path),
        sup(*config.supervisor),
        probe_runner(io),
        executor(io, *config.launcher, config.cgroups),
        hooks(io, *config.clock, probe_runner, config.netns_fd,
              [this](const HookFinished& f) { OnHookFinished(f); }) {
    for (const auto* list : {&config.pod->spec.init_containers, &config.pod->spec.containers}) {
      for (const Container& c : *list) {
        auto p = std::make_unique<ContainerProbes>(
            io, *config.clock, c, probe_runner, config.netns_fd, ExecIn(c.name),
            [this, name = c.name](std::vector<ProbeTransition> t) { OnProbes(name, t); });
        if (p->has_probes()) probes.emplace(c.name, std::move(p));
      }
    }
  }

  EventLoopConfig config;
  boost::asio::io_context io;
  boost::asio::posix::stream_descriptor sig_desc;
  boost::asio::steady_timer timer;
  boost::asio::steady_timer retire_timer;
  boost::asio::steady_timer state_timer;
  bool state_timer_armed = false;
  StateWriter state;
  Supervisor& sup;
  ProbeRunner probe_runner;
  ContainerExecutor executor;
  HookRunner hooks;
  std::map<std::string, std::unique_ptr<ContainerProbes>> probes;
  std::unique_ptr<control::ControlHandler> control_handler;
  std::unique_ptr<control::ControlServer> server;
  std::optional<signals::SignalFd> sigfd;
  std::map<std::string, Instance> running;
  std::map<pid_t, std::string> by_pid;
  // Each container's latest instance leaf, until it is removed (what `ctl stats` reads).
  std::map<std::string, cgroups::CgroupPath> leaves;
  // Leaves of ended instances still busy (processes exiting, an exec cgroup not yet removed).
  std::vector<cgroups::CgroupPath> retiring;
  std::chrono::milliseconds retire_delay = kRetireFirstRetry;
  std::list<std::unique_ptr<LogPump>> pumps;
  std::optional<PodOutcome> outcome;
  std::optional<int> shim_signal;
  bool probes_told_termination = false;
  bool processing = false;
  std::string last_status;  // what status.json holds, or will once it can be written

  std::unique_ptr<control::ControlHandler> MakeControl();

  Result<PodOutcome> Run() {
    sigfd.emplace(PODSHIM_TRY(signals::SignalFd::Open({SIGCHLD, SIGTERM, SIGINT})));
    PODSHIM_TRY(signals::BecomeSubreaper());
    int dup = ::fcntl(sigfd->fd(), F_DUPFD_CLOEXEC, 3);
    if (dup < 0) return Error::Errno(errno, "dup signalfd");
    sig_desc.assign(dup);
    if (!config.control_socket.empty()) {
      control_handler = MakeControl();
      server = std::make_unique<control::ControlServer>(
          io, *control_handler, control::ShimControlServerOptions(config.clock));
      PODSHIM_TRY_WRAP(server->Listen(config.control_socket), "control socket");
    }
    if (config.on_listening) config.on_listening();
    ArmSignals();

    PodEvent started;
    started.type = "PodStarted";
    started.time = config.clock->WallNow();
    started.fields = {{"cgroup", config.status_context.cgroup},
                      {"qosClass", config.status_context.qos_class}};
    Emit(started);
    PODSHIM_TRY(sup.Start());
    Process();
    if (!outcome) io.run();
    executor.KillAll();
    for (auto& p : pumps) p->Drain();
    pumps.clear();
    state_timer.cancel();
    if (!state.Flush()) {
      // The shim ends and its memory with it: what is left goes to its log, never nowhere.
      spdlog::error("the pod ended before the state dir had room; not written:");
      for (const std::string& line : state.DescribePending()) spdlog::error("  {}", line);
    }
    if (server) {
      if (server->client_count() > 0) {
        server->NotifyEvents();
        io.restart();
        io.run_for(kFinalFlush);
      }
      server->Close();
    }
    if (!outcome) return Error::Domain(ErrorCode::kConflict, "event loop ended before the pod");
    return *outcome;
  }

  void ArmSignals() {
    sig_desc.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                        [this](const boost::system::error_code& ec) {
                          if (ec) return;
                          OnSignals();
                          if (!outcome) ArmSignals();
                        });
  }

  void OnSignals() {
    auto batch = sigfd->ReadBatch();
    if (!batch) {
      spdlog::error("read signalfd: {}", batch.error().ToString());
      return;
    }
    bool child = false;
    for (const signals::SignalInfo& info : *batch) {
      if (info.signo == SIGCHLD) {
        child = true;
      } else if (info.signo == SIGTERM || info.signo == SIGINT) {
        if (!shim_signal) {
          shim_signal = info.signo;
          spdlog::info("got {}: stopping the pod", signals::SignalName(info.signo));
          sup.OnStopRequest(TerminationReason::kSignal);
        } else {
          spdlog::info("got {} again: killing the pod now", signals::SignalName(info.signo));
          sup.OnStopRequest(TerminationReason::kSignal, std::chrono::seconds(0));
        }
      }
    }
    if (child) Reap();
    Process();
  }

  void Reap() {
    // Probe transitions reported while exits are handed over only queue actions: the caller's
    // Process() carries them out once every exit of the batch is known.
    const bool was_processing = std::exchange(processing, true);
    ReapBatch();
    processing = was_processing;
  }

  void ReapBatch() {
    auto exits = signals::ReapAll();
    if (!exits) {
      spdlog::error("reap: {}", exits.error().ToString());
      return;
    }
    for (const signals::ExitEvent& ev : *exits) {
      auto it = by_pid.find(ev.pid);
      if (it == by_pid.end()) {
        (void)executor.OnProcessExited(ev);  // else an orphan re-parented to us
        continue;
      }
      std::string name = it->second;
      by_pid.erase(it);
      Instance inst = std::move(running.at(name));
      running.erase(name);
      ContainerExit exit =
          ev.killed() ? ContainerExit::Signalled(ev.signal) : ContainerExit::Code(ev.exit_code);
      if (inst.leaf) {
        auto after = config.cgroups->ReadOomKills(*inst.leaf);
        if (after) exit.oom = OomKillGrew(inst.oom_before, *after);
        RetireLeaf(name, *inst.leaf);
      }
      // Durably recorded before it is reported; on a full disk it stays in memory until it can
      // be written, and the pod goes on (the supervisor hears of it now; events and
      // status.json wait behind it). docs/decisions.md, "Full state filesystem".
      state.WriteExit(name, {exit.exit_code, exit.oom});
      hooks.Cancel(name);
      Status reported = sup.OnContainerExited(name, exit);
      if (!reported) spdlog::error("report exit of {}: {}", name, reported.error().ToString());
      if (auto p = probes.find(name); p != probes.end()) p->second->OnContainerExited();
    }
  }

  // Carries out every queued action (which may queue more), then writes status.json and
  // re-arms the timer. Re-entrant calls (a probe transition reported while launching) only
  // queue: the outer call carries them out.
  void Process() {
    if (processing) return;
    processing = true;
    for (;;) {
      auto actions = sup.TakeActions();
      if (actions.empty()) break;
      for (SupervisorAction& a : actions) Execute(a);
    }
    processing = false;
    if (sup.Terminating() && !probes_told_termination) {
      probes_told_termination = true;
      for (auto& [name, p] : probes) p->OnTerminationStarted();
    }
    // Rewritten (fsync and rename) only when it changed: an exec or a reaped helper changes
    // nothing in it.
    std::string status = PodStatusJson(sup.Snapshot(), config.status_context);
    if (status != last_status) {
      last_status = status;
      state.WriteStatus(std::move(status));
    }
    if (server) server->NotifyEvents();
    if (outcome) {
      timer.cancel();
      io.stop();
      return;
    }
    ArmTimer();
    ArmStateRetry();
  }

  // While something could not be written, retries it every kStateRetry.
  void ArmStateRetry() {
    if (state_timer_armed || !state.pending()) return;
    state_timer_armed = true;
    state_timer.expires_after(kStateRetry);
    state_timer.async_wait([this](const boost::system::error_code& ec) {
      state_timer_armed = false;
      if (ec) return;
      if (!state.Flush()) {
        ArmStateRetry();
      } else if (server) {
        server->NotifyEvents();  // the events kept in memory are in the file now
      }
    });
  }

  void ArmTimer() {
    auto deadline = sup.NextDeadline();
    if (!deadline) {
      timer.cancel();
      return;
    }
    timer.expires_at(*deadline);
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;   // re-armed or cancelled
      hooks.FireDue();  // a preStop abandoned now is reported before what follows it
      sup.OnDeadline();
      Process();
    });
  }

  void Execute(SupervisorAction& action) {
    std::visit(
        [this](auto& a) {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, LaunchAction>) {
            Status st = Launch(a);
            if (!st) {
              spdlog::error("start {}: {}", a.container, st.error().ToString());
              Status r = sup.OnStartFailed(a.container, st.error().ToString());
              if (!r) spdlog::error("report start failure: {}", r.error().ToString());
            }
          } else if constexpr (std::is_same_v<T, SignalAction>) {
            // The stop signal follows the preStop; one still running was abandoned at its
            // deadline (the supervisor's timer can fire a moment before the hook runner's).
            hooks.AbandonPreStop(a.container);
            (void)SendSignal(a.container, a.signal);  // logged there
          } else if constexpr (std::is_same_v<T, KillContainerAction>) {
            hooks.AbandonPreStop(a.container);
            KillContainer(a.container);
          } else if constexpr (std::is_same_v<T, StartPostStartAction>) {
            StartHook(HookKind::kPostStart, a.container, std::nullopt);
          } else if constexpr (std::is_same_v<T, StartPreStopAction>) {
            StartHook(HookKind::kPreStop, a.container, a.grace);
          } else if constexpr (std::is_same_v<T, EmitAction>) {
            Emit(a.event);
          } else if constexpr (std::is_same_v<T, PodFinishedAction>) {
            outcome = PodOutcome{a.phase, a.reason, shim_signal};
          } else {
            static_assert(!sizeof(T), "an action the event loop does not carry out");
          }
        },
        action);
  }

  void Emit(const PodEvent& event) { state.WriteEvent(event); }

  PodEvent ContainerEvent(std::string type, const std::string& container,
                          std::vector<EventField> fields) const {
    PodEvent e;
    e.type = std::move(type);
    e.time = config.clock->WallNow();
    e.container = container;
    if (const Container* c = FindContainer(config.pod->spec, container)) e.role = c->role();
    e.fields = std::move(fields);
    return e;
  }

  void EmitSignalSent(const std::string& container, int sig) {
    Emit(ContainerEvent("SignalSent", container, {{"signal", signals::SignalName(sig)}}));
  }

  Status SendSignal(const std::string& name, int sig) {
    auto it = running.find(name);
    if (it == running.end()) return Ok();  // exited; the exit is on its way
    Status st = config.signaller->Signal(it->second.handle, sig);
    if (!st) {
      spdlog::error("signal {}: {}", name, st.error().ToString());
      return st;
    }
    EmitSignalSent(name, sig);
    return Ok();
  }

  void KillContainer(const std::string& name) {
    auto it = running.find(name);
    if (it == running.end()) return;  // exited; its leaf was emptied when it was retired
    Status st = it->second.leaf ? config.cgroups->Kill(*it->second.leaf)
                                : config.signaller->Signal(it->second.handle, SIGKILL);
    if (!st) {
      spdlog::error("kill {}: {}", name, st.error().ToString());
      return;
    }
    EmitSignalSent(name, SIGKILL);
  }

  // Runs a command in container `name` as it is when the function is called (probes and hooks
  // keep the function; the container may have restarted or stopped since).
  ExecInContainerFn ExecIn(std::string name) {
    return [this, name](ExecCommand cmd, ExecCallback done) {
      auto it = running.find(name);
      auto spec = config.specs.find(name);
      if (it == running.end() || spec == config.specs.end()) {
        ExecOutcome o;
        o.start_error = "container " + Quoted(name) + " is not running";
        boost::asio::post(
            io, [done = std::move(done), o = std::move(o)]() mutable { done(std::move(o)); });
        return;
      }
      ExecTarget target;
      target.container = name;
      target.spec = &spec->second;
      target.pid = it->second.handle.pid();
      target.leaf = it->second.leaf;
      executor.Run(target, std::move(cmd), std::move(done));
    };
  }

  // --- Probes and hooks ------------------------------------------------------------------

  void OnProbes(const std::string& name, const std::vector<ProbeTransition>& transitions) {
    for (const ProbeTransition& t : transitions) {
      Status st = Ok();
      switch (t.kind) {
        case ProbeTransitionKind::kProbeFailed:
          Emit(ContainerEvent(
              "ProbeFailed", name,
              {{"probe", std::string(ProbeKindName(t.probe))}, {"message", t.message}}));
          break;
        case ProbeTransitionKind::kStarted:
          st = sup.OnStartupSucceeded(name);
          break;
        case ProbeTransitionKind::kReady:
        case ProbeTransitionKind::kNotReady:
          st = sup.OnReadinessChanged(name, t.kind == ProbeTransitionKind::kReady);
          break;
        case ProbeTransitionKind::kLivenessFailed:
        case ProbeTransitionKind::kStartupFailed:
          spdlog::info("{}: {} probe failed ({}): restarting it", name, ProbeKindName(t.probe),
                       t.message);
          st = sup.OnProbeKill(name, t.grace);
          break;
      }
      if (!st) spdlog::error("probe result of {}: {}", name, st.error().ToString());
    }
    Process();
  }

  void StartHook(HookKind kind, const std::string& name,
                 std::optional<std::chrono::seconds> grace) {
    const Container* c = FindContainer(config.pod->spec, name);
    const auto& handler =
        kind == HookKind::kPostStart ? c->lifecycle.post_start : c->lifecycle.pre_stop;
    Result<HookRun> run =
        handler ? PlanHook(kind, name, *handler, config.clock->Now(), grace, "lifecycle")
                : Result<HookRun>(Error::Invalid("no " + std::string(HookKindName(kind))));
    Emit(ContainerEvent("HookStarted", name, {{"hook", std::string(HookKindName(kind))}}));
    if (!run) {  // validation refuses such hooks; fail it rather than hang the container
      spdlog::error("{} hook of {}: {}", HookKindName(kind), name, run.error().ToString());
      boost::asio::post(io, [this, kind, name] { OnHookFinished({kind, name, 126, {}}); });
      return;
    }
    hooks.Start(*run, ExecIn(name));
  }

  void OnHookFinished(const HookFinished& f) {
    Emit(ContainerEvent("HookFinished", f.container,
                        {{"hook", std::string(HookKindName(f.hook))},
                         f.exit_code ? EventField{"exitCode", int64_t{*f.exit_code}}
                                     : EventField{"exitCode", nullptr}}));
    Status st = f.hook == HookKind::kPostStart
                    ? sup.OnPostStartFinished(f.container, !PostStartKillsContainer(f.exit_code))
                    : sup.OnPreStopFinished(f.container);
    if (!st) spdlog::error("hook of {}: {}", f.container, st.error().ToString());
    // Later: hooks ending together (abandoned at one deadline) are all reported before the
    // actions that follow them.
    boost::asio::post(io, [this] {
      if (!outcome) Process();
    });
  }

  // --- Launch ----------------------------------------------------------------------------

  Status Launch(const LaunchAction& a) {
    const Container* c = FindContainer(config.pod->spec, a.container);
    auto spec = config.specs.find(a.container);
    if (!c || spec == config.specs.end()) {
      return Error::Domain(ErrorCode::kNotFound, "no container named " + a.container);
    }
    std::optional<cgroups::CgroupPath> leaf;
    if (config.cgroups) {
      leaf = PODSHIM_TRY(
          config.cgroups->CreateContainer(cgroups::InstanceLeafName(a.container, a.restart_count)));
    }
    Status launched = LaunchInto(a, *c, spec->second, leaf);
    // A start that failed leaves nothing running in the new leaf (a child killed at birth may
    // still be exiting): it goes the way of an ended instance's leaf.
    if (!launched && leaf) RetireLeaf(a.container, *leaf);
    return launched;
  }

  Status LaunchInto(const LaunchAction& a, const Container& c, const oci::Spec& spec,
                    const std::optional<cgroups::CgroupPath>& leaf) {
    UniqueFd cgroup_fd;
    if (leaf) {
      leaves[a.container] = *leaf;
      // The container's limits go on every instance's leaf.
      if (auto v = config.container_values.find(a.container); v != config.container_values.end()) {
        PODSHIM_TRY(config.cgroups->Apply(*leaf, v->second));
      }
      if (auto warning = config.cgroups->TakeWarning()) spdlog::warn("{}", *warning);
      cgroup_fd = PODSHIM_TRY(config.cgroups->OpenDirFd(*leaf));
    }
    auto log = OpenLog(a.container, a.restart_count);
    sys::PipePair out = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
    sys::PipePair err = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
    UniqueFd devnull = PODSHIM_TRY(sys::Open("/dev/null", O_RDONLY));
    oci::LaunchOptions opts;
    opts.container_id = a.container;
    opts.stdin_fd = devnull.get();
    opts.stdout_fd = out.write.get();
    opts.stderr_fd = err.write.get();
    opts.cgroup_dir_fd = cgroup_fd.get();
    oci::LaunchPlan plan = PODSHIM_TRY(oci::BuildLaunchPlan(spec, c.bundle, opts));
    Instance inst;
    inst.leaf = leaf;
    if (leaf) {
      auto before = config.cgroups->ReadOomKills(*leaf);
      if (before) inst.oom_before = *before;
    }
    inst.handle = PODSHIM_TRY(config.launcher->Launch(plan));
    out.write.Reset();
    err.write.Reset();
    const pid_t pid = inst.handle.pid();
    for (auto [fd, stream] :
         {std::pair{&out.read, LogStream::kStdout}, std::pair{&err.read, LogStream::kStderr}}) {
      auto pump = std::make_unique<LogPump>(io, std::move(*fd), stream, log, *config.clock);
      pump->Start();
      pumps.push_back(std::move(pump));
    }
    std::erase_if(pumps, [](const auto& p) { return p->done(); });
    by_pid[pid] = a.container;
    running[a.container] = std::move(inst);
    PODSHIM_TRY(sup.OnContainerStarted(a.container, pid));
    if (auto p = probes.find(a.container); p != probes.end()) p->second->OnContainerStarted();
    return Ok();
  }

  // The new instance's log file. One that cannot be opened (a full disk) does not keep the
  // container from starting: its output is dropped until the file can be opened. The logs of
  // instances before the previous one are removed (the kubelet keeps the current and the
  // previous one).
  std::shared_ptr<CriLogFile> OpenLog(const std::string& container, int restart_count) {
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

  // --- Leaves of ended instances ------------------------------------------------------------

  // The instance that ran in `leaf` has ended (its exit was handled, or its start failed): the
  // leaf is removed now if it is empty. Otherwise whatever is left in it (processes outside the
  // container's PID namespace, a start's child still dying) is killed through cgroup.kill, which
  // is harmless here as the leaf is never started into again, and the removal retried later.
  void RetireLeaf(const std::string& name, const cgroups::CgroupPath& leaf) {
    if (auto it = leaves.find(name); it != leaves.end() && it->second == leaf) leaves.erase(it);
    Result<bool> removed = config.cgroups->TryRemove(leaf);
    if (removed && *removed) return;
    if (!removed) {
      spdlog::warn("remove the cgroup of {}: {}", name, removed.error().ToString());
      return;  // RemovePod tries again when the pod ends
    }
    Status killed = config.cgroups->Kill(leaf);
    if (!killed) {
      spdlog::warn("kill what is left in the cgroup of {}: {}", name, killed.error().ToString());
    }
    retiring.push_back(leaf);
    if (retiring.size() == 1) {
      retire_delay = kRetireFirstRetry;
      ArmRetireTimer();
    }
  }

  void ArmRetireTimer() {
    retire_timer.expires_after(retire_delay);
    retire_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      std::erase_if(retiring, [this](const cgroups::CgroupPath& leaf) {
        Result<bool> removed = config.cgroups->TryRemove(leaf);
        if (!removed) {
          spdlog::warn("remove cgroup {}: {}", config.cgroups->FullPath(leaf).string(),
                       removed.error().ToString());
        }
        return !removed || *removed;  // an error: RemovePod tries again at the end
      });
      if (retiring.empty()) return;
      retire_delay = std::min(retire_delay * 2, kRetireMaxRetry);
      ArmRetireTimer();
    });
  }
};

// The control API over the running pod: what `podshim ctl` asks, answered on the loop's thread.
class EventLoop::Impl::Control final : public control::ControlHandler {
 public:
  explicit Control(Impl& impl) : impl_(impl) {}

  const Container* Known(const std::string& name) const {
    return FindContainer(impl_.config.pod->spec, name);
  }
  ControlError UnknownContainer(const std::string& name) const {
    return {control::ErrorCode::kUnknownContainer,
            "no container " + Quoted(name) + " in pod " + Quoted(impl_.config.pod->metadata.name)};
  }

  Reply<std::string> Status() override {
    return PodStatusJson(impl_.sup.Snapshot(), impl_.config.status_context);
  }

  Reply<control::StopResult> Stop(std::optional<std::chrono::seconds> grace) override {
    if (impl_.sup.Finished()) return std::unexpected(Unavailable("the pod has finished"));
    control::StopResult r;
    r.already_terminating = impl_.sup.Terminating();
    std::chrono::seconds effective =
        std::min(grace.value_or(impl_.sup.PodGrace()), impl_.sup.PodGrace());
    impl_.sup.OnStopRequest(TerminationReason::kRequest, effective);
    r.grace_period_seconds =
        (r.already_terminating && effective.count() > 0 ? impl_.sup.TerminationGrace() : effective)
            .count();
    impl_.Process();
    return r;
  }

  Reply<control::KillResult> Kill(const std::string& container, int signal) override {
    if (!Known(container)) return std::unexpected(UnknownContainer(container));
    if (!impl_.running.contains(container)) {
      return std::unexpected(Unavailable("container " + Quoted(container) + " is not running"));
    }
    if (::podshim::Status st = impl_.SendSignal(container, signal); !st) {
      return std::unexpected(ControlError{control::ErrorCode::kInternal, st.error().ToString()});
    }
    impl_.Process();
    return control::KillResult{container, signal};
  }

  Reply<control::RestartResult> Restart(const std::string& container) override {
    if (!Known(container)) return std::unexpected(UnknownContainer(container));
    if (::podshim::Status st = impl_.sup.OnRestartRequest(container); !st) {
      return std::unexpected(Unavailable(st.error().ToString()));
    }
    impl_.Process();
    return control::RestartResult{container};
  }

  void Exec(const control::ExecRequest& request, ExecDone done) override {
    auto fail = [&](ControlError e) {
      boost::asio::post(impl_.io,
                        [done = std::move(done), e = std::move(e)] { done(std::unexpected(e)); });
    };
    if (!Known(request.container)) return fail(UnknownContainer(request.container));
    if (!impl_.running.contains(request.container)) {
      return fail(Unavailable("container " + Quoted(request.container) + " is not running"));
    }
    ExecCommand cmd;
    cmd.argv = request.argv;
    if (request.timeout_seconds) cmd.timeout = std::chrono::seconds(*request.timeout_seconds);
    impl_.ExecIn(request.container)(std::move(cmd), [done = std::move(done)](ExecOutcome o) {
      if (o.start_error) {
        done(std::unexpected(Unavailable(*o.start_error)));
        return;
      }
      control::ExecResult r;
      r.exit_code = o.exit_code;
      r.timed_out = o.timed_out;
      r.stdout_text = std::move(o.stdout_text);
      r.stderr_text = std::move(o.stderr_text);
      done(std::move(r));
    });
  }

  Reply<control::StatsResult> Stats() override {
    return CollectPodStats(impl_.sup.Snapshot(), impl_.config.cgroups, impl_.config.pod_cgroup,
                           impl_.leaves);
  }

  std::vector<control::EventRecord> EventsFrom(uint64_t from_seq, std::size_t max_count) override {
    std::vector<control::EventRecord> out;
    if (from_seq == 0) from_seq = 1;
    auto lines = impl_.config.events->ReadFrom(from_seq, max_count);
    if (!lines) {
      spdlog::error("events: {}", lines.error().ToString());
      return out;
    }
    out.reserve(lines->size());
    for (std::string& line : *lines) out.push_back({from_seq++, std::move(line)});
    return out;
  }

  uint64_t NextEventSeq() override { return impl_.config.events->count() + 1; }

  bool PodFinished() override { return impl_.sup.Finished(); }

 private:
  Impl& impl_;
};

std::unique_ptr<control::ControlHandler> EventLoop::Impl::MakeControl() {
  return std::make_unique<Control>(*this);
}

EventLoop::EventLoop(EventLoopConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

EventLoop::~EventLoop() = default;

Result<PodOutcome> EventLoop::Run() { return impl_->Run(); }

}  // namespace podshim::shim
