// The loop itself: Run(), the signals and exits it is woken by, the supervisor's action queue
// and the timers (the supervisor's deadline, retries of state writes).
#include "shim/run/event_loop.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <type_traits>
#include <utility>
#include <variant>

#include "common/page_trim.h"
#include "shim/run/event_loop_impl.h"
#include "signals/signal_names.h"

namespace podshim::shim {

int RunExitStatus(const PodOutcome& outcome) {
  if (outcome.shim_signal) return 128 + *outcome.shim_signal;
  return outcome.phase == PodPhase::kSucceeded ? 0 : 1;
}

namespace {

// After the pod finished, clients following the events get this long to receive the last ones.
constexpr auto kFinalFlush = std::chrono::milliseconds(200);
// Exit records, events and status.json that could not be written (a full disk) are retried this
// often, and on every later write.
constexpr auto kStateRetry = std::chrono::milliseconds(500);
// A control request or an exec touches pages that idle pods never use again; they are dropped
// this long after the last one (a probe or a poll more often than this keeps them mapped).
constexpr auto kTrimDelay = std::chrono::seconds(5);

}  // namespace

void EventLoop::Impl::TrimSoon() {
  if (outcome) return;  // the loop is ending
  trim_timer.expires_after(kTrimDelay);
  trim_timer.async_wait([](const boost::system::error_code& ec) {
    if (!ec) TrimResidentPages();
  });
}

EventLoop::Impl::Impl(EventLoopConfig c)
    : config(std::move(c)),
      own_signals(config.signal_source ? nullptr : MakeSignalFdSource(io)),
      own_wake(config.wake_timer ? nullptr : MakeSteadyWakeTimer(io)),
      signal_source(config.signal_source ? config.signal_source : own_signals.get()),
      wake(config.wake_timer ? config.wake_timer : own_wake.get()),
      state_timer(io),
      state(*config.exit_records, *config.events, config.status_path),
      sup(*config.supervisor),
      probe_runner(io),
      executor(io, *config.launcher, config.cgroups),
      hooks(io, *config.clock, probe_runner, config.netns_fd,
            [this](const HookFinished& f) { OnHookFinished(f); }),
      slots(*config.pod),
      trim_timer(io) {
  if (config.cgroups) retirer.emplace(io, *config.cgroups);
  // The per-container parts of the config move into the slots.
  for (auto& [name, spec] : config.specs) {
    if (ContainerSlot* slot = slots.Find(name)) slot->spec = std::move(spec);
  }
  for (auto& [name, values] : config.container_values) {
    if (ContainerSlot* slot = slots.Find(name)) slot->values = std::move(values);
  }
  config.specs.clear();
  config.container_values.clear();
  slots.ForEach([this](ContainerSlot& slot) { MakeProbes(slot); });
}

Result<PodOutcome> EventLoop::Impl::Run() {
  PODSHIM_TRY(signal_source->Open());
  PODSHIM_TRY(Listen());
  if (config.on_listening) config.on_listening();
  ArmSignals();
  if (config.recovery) {
    if (!config.upgraded_from.empty()) EmitShimUpgraded();
    PODSHIM_TRY(Recover(*config.recovery));
  } else {
    EmitPodStarted();
    SupervisorInput start = SupervisorInput::Of(SupervisorInput::Kind::kStart);
    start.message = config.manifest_digest;
    PODSHIM_TRY(Input(std::move(start)));
  }
  Process();
  if (!outcome) io.run();
  Shutdown();
  if (!outcome) return Error::Domain(ErrorCode::kConflict, "event loop ended before the pod");
  return *outcome;
}

Status EventLoop::Impl::Listen() {
  if (config.control_socket.empty()) return Ok();
  control_handler = MakeControl();
  control::ControlServerOptions options = control::ShimControlServerOptions(config.clock);
  options.on_request = [this] { TrimSoon(); };
  server = std::make_unique<control::ControlServer>(io, *control_handler, std::move(options));
  if (config.control_listen_fd >= 0) {
    PODSHIM_TRY_WRAP(server->Adopt(UniqueFd(config.control_listen_fd), config.control_socket),
                     "handed-over control socket");
    return Ok();
  }
  PODSHIM_TRY_WRAP(server->Listen(config.control_socket), "control socket");
  return Ok();
}

void EventLoop::Impl::EmitPodStarted() {
  PodEvent started;
  started.type = "PodStarted";
  started.time = config.clock->WallNow();
  started.fields = {{"cgroup", config.status_context.cgroup},
                    {"qosClass", config.status_context.qos_class}};
  Emit(started);
}

// Once the pod finished (or the loop ran out of work): execs killed, the last output written to
// the logs, the state written, and the clients following events given the last ones.
void EventLoop::Impl::Shutdown() {
  executor.KillAll();
  slots.ForEach([](ContainerSlot& slot) {
    for (auto& p : slot.pumps) p->Drain();
    slot.pumps.clear();
  });
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
}

void EventLoop::Impl::ArmSignals() {
  signal_source->AsyncWait([this] {
    OnSignals();
    if (!outcome) ArmSignals();
  });
}

void EventLoop::Impl::OnSignals() {
  auto batch = signal_source->ReadBatch();
  if (!batch) {
    spdlog::error("read signalfd: {}", batch.error().ToString());
    return;
  }
  bool child = false;
  for (const signals::SignalInfo& info : *batch) {
    if (info.signo == SIGCHLD) {
      child = true;
    } else if (info.signo == SIGTERM || info.signo == SIGINT) {
      OnStopSignal(info.signo);
    }
  }
  if (child) Reap();
  Process();
}

void EventLoop::Impl::OnStopSignal(int signo) {
  if (!shim_signal) {
    shim_signal = signo;
    spdlog::info("got {}: stopping the pod", signals::SignalName(signo));
    (void)Input(SupervisorInput::StopRequest(TerminationReason::kSignal, std::nullopt));
  } else {
    spdlog::info("got {} again: killing the pod now", signals::SignalName(signo));
    (void)Input(SupervisorInput::StopRequest(TerminationReason::kSignal, std::chrono::seconds(0)));
  }
}

// Probe transitions reported while exits are handed over only queue actions: the caller's
// Process() carries them out once every exit of the batch is known.
void EventLoop::Impl::Reap() {
  const bool was_processing = std::exchange(processing, true);
  auto exits = signal_source->ReapAll();
  if (!exits) {
    spdlog::error("reap: {}", exits.error().ToString());
  } else {
    for (const signals::ExitEvent& ev : *exits) OnExit(ev);
  }
  processing = was_processing;
}

void EventLoop::Impl::OnExit(const signals::ExitEvent& ev) {
  ContainerSlot* slot = slots.FindRunning(ev.pid);
  if (!slot) {
    (void)executor.OnProcessExited(ev);  // else an orphan re-parented to us
    return;
  }
  EndInstance(
      *slot, ev.killed() ? ContainerExit::Signalled(ev.signal) : ContainerExit::Code(ev.exit_code));
}

void EventLoop::Impl::EndInstance(ContainerSlot& slot, ContainerExit exit) {
  const std::string& name = slot.name();
  ContainerInstance inst = slots.TakeRunning(slot);
  if (inst.leaf) {
    auto after = config.cgroups->ReadOomKills(*inst.leaf);
    if (after && !exit.unknown) exit.oom = OomKillGrew(inst.oom_before, *after);
    RetireLeaf(slot, *inst.leaf);
  }
  // Durably recorded before it is reported; on a full disk it stays in memory until it can be
  // written, and the pod goes on (the supervisor hears of it now; events and status.json wait
  // behind it). docs/decisions.md, "Full state filesystem". An unknown exit has no record.
  if (!exit.unknown) state.WriteExit(name, {exit.exit_code, exit.oom});
  hooks.Cancel(name);
  Status reported = Input(SupervisorInput::Exited(name, exit));
  if (!reported) spdlog::error("report exit of {}: {}", name, reported.error().ToString());
  if (slot.probes) slot.probes->OnContainerExited();
}

Status EventLoop::Impl::Input(SupervisorInput input) {
  if (config.input_clock) config.input_clock->SetFrom(*config.clock);
  if (config.journal) {
    const Clock& c = config.input_clock ? *config.input_clock : *config.clock;
    Status journaled = config.journal->Append({c.Now(), c.WallNow(), input});
    if (!journaled && !journal_failed) {
      journal_failed = true;
      spdlog::error("{}", journaled.error().ToString());
    } else if (journaled) {
      journal_failed = false;
    }
  }
  return ApplyInput(sup, input);
}

// Carries out every queued action (which may queue more), then writes status.json and re-arms
// the timer. Re-entrant calls (a probe transition reported while launching) only queue: the
// outer call carries them out.
void EventLoop::Impl::Process() {
  if (processing) return;
  processing = true;
  for (;;) {
    auto actions = sup.TakeActions();
    if (actions.empty()) break;
    for (SupervisorAction& a : actions) Execute(a);
  }
  processing = false;
  AfterActions();
}

void EventLoop::Impl::AfterActions() {
  if (sup.Terminating() && !probes_told_termination) {
    probes_told_termination = true;
    slots.ForEach([](ContainerSlot& slot) {
      if (slot.probes) slot.probes->OnTerminationStarted();
    });
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
    wake->Cancel();
    trim_timer.cancel();
    io.stop();
    return;
  }
  ArmTimer();
  ArmStateRetry();
  if (launched_since_trim) {
    launched_since_trim = false;
    TrimResidentPages();
  }
}

// While something could not be written, retries it every kStateRetry.
void EventLoop::Impl::ArmStateRetry() {
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

void EventLoop::Impl::ArmTimer() {
  auto deadline = sup.NextDeadline();
  if (!deadline) {
    wake->Cancel();
    return;
  }
  wake->ArmAt(*deadline, [this] {
    hooks.FireDue();  // a preStop abandoned now is reported before what follows it
    (void)Input(SupervisorInput::Of(SupervisorInput::Kind::kDeadline));
    Process();
  });
}

void EventLoop::Impl::Execute(SupervisorAction& action) {
  std::visit([this](auto& a) { Do(a); }, action);
}

void EventLoop::Impl::Do(LaunchAction& a) {
  launched_since_trim = true;
  Status st = Launch(a);
  if (!st) {
    spdlog::error("start {}: {}", a.container, st.error().ToString());
    SupervisorInput failed = SupervisorInput::Of(SupervisorInput::Kind::kStartFailed, a.container);
    failed.message = st.error().ToString();
    Status r = Input(std::move(failed));
    if (!r) spdlog::error("report start failure: {}", r.error().ToString());
  }
}

// The stop signal follows the preStop; one still running was abandoned at its deadline (the
// supervisor's timer can fire a moment before the hook runner's).
void EventLoop::Impl::Do(SignalAction& a) {
  hooks.AbandonPreStop(a.container);
  if (ContainerSlot* slot = slots.Find(a.container)) (void)SendSignal(*slot, a.signal);
}

void EventLoop::Impl::Do(KillContainerAction& a) {
  hooks.AbandonPreStop(a.container);
  if (ContainerSlot* slot = slots.Find(a.container)) KillContainer(*slot);
}

void EventLoop::Impl::Do(StartPostStartAction& a) {
  if (ContainerSlot* slot = slots.Find(a.container)) {
    StartHook(HookKind::kPostStart, *slot, std::nullopt);
  }
}

void EventLoop::Impl::Do(StartPreStopAction& a) {
  if (ContainerSlot* slot = slots.Find(a.container)) StartHook(HookKind::kPreStop, *slot, a.grace);
}

void EventLoop::Impl::Do(EmitAction& a) { Emit(a.event); }

void EventLoop::Impl::Do(PodFinishedAction& a) {
  outcome = PodOutcome{a.phase, a.reason, shim_signal};
}

EventLoop::EventLoop(EventLoopConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

EventLoop::~EventLoop() = default;

Result<PodOutcome> EventLoop::Run() { return impl_->Run(); }

boost::asio::io_context& EventLoop::io() { return impl_->io; }

}  // namespace podshim::shim
