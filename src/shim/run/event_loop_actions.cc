// What the event loop does to and for one container: signals and cgroup.kill, commands run in
// it (exec probes, exec hooks, `ctl exec`), its probes' transitions, its lifecycle hooks, and
// the events about it.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <utility>

#include "common/quoted.h"
#include "oci/exec_template.h"
#include "shim/run/event_loop_impl.h"
#include "signals/signal_names.h"

namespace podshim::shim {

void EventLoop::Impl::MakeProbes(ContainerSlot& slot) {
  auto p = std::make_unique<ContainerProbes>(
      io, *config.clock, *slot.container, probe_runner, config.netns_fd, ExecIn(slot.name()),
      [this, &slot](std::vector<ProbeTransition> t) { OnProbes(slot, t); });
  if (p->has_probes()) slot.probes = std::move(p);
}

void EventLoop::Impl::Emit(const PodEvent& event) { state.WriteEvent(event); }

PodEvent EventLoop::Impl::ContainerEvent(std::string type, const ContainerSlot& slot,
                                         std::vector<EventField> fields) const {
  PodEvent e;
  e.type = std::move(type);
  e.time = config.clock->WallNow();
  e.container = slot.name();
  e.role = slot.container->role();
  e.fields = std::move(fields);
  return e;
}

void EventLoop::Impl::EmitSignalSent(const ContainerSlot& slot, int sig) {
  Emit(ContainerEvent("SignalSent", slot, {{"signal", signals::SignalName(sig)}}));
}

Status EventLoop::Impl::SendSignal(ContainerSlot& slot, int sig) {
  if (!slot.running) return Ok();  // exited; the exit is on its way
  Status st = config.signaller->Signal(slot.running->handle, sig);
  if (!st) {
    spdlog::error("signal {}: {}", slot.name(), st.error().ToString());
    return st;
  }
  EmitSignalSent(slot, sig);
  return Ok();
}

void EventLoop::Impl::KillContainer(ContainerSlot& slot) {
  if (!slot.running) return;  // exited; its leaf was emptied when it was retired
  const ContainerInstance& inst = *slot.running;
  Status st =
      inst.leaf ? config.cgroups->Kill(*inst.leaf) : config.signaller->Signal(inst.handle, SIGKILL);
  if (!st) {
    spdlog::error("kill {}: {}", slot.name(), st.error().ToString());
    return;
  }
  EmitSignalSent(slot, SIGKILL);
}

// Runs a command in container `name` as it is when the function is called (probes and hooks keep
// the function; the container may have restarted or stopped since).
ExecInContainerFn EventLoop::Impl::ExecIn(std::string name) {
  return [this, name](ExecCommand cmd, ExecCallback done) {
    auto fail = [&](std::string error) {
      ExecOutcome o;
      o.start_error = std::move(error);
      boost::asio::post(
          io, [done = std::move(done), o = std::move(o)]() mutable { done(std::move(o)); });
    };
    ContainerSlot* slot = slots.Find(name);
    if (!slot || !slot->running || !slot->spec) {
      return fail("container " + Quoted(name) + " is not running");
    }
    if (!slot->exec_template) {
      // The spec never changes while the slot exists: prepared once, kept for every instance.
      auto prepared = oci::PrepareExec(*slot->spec, name);
      if (!prepared) return fail(prepared.error().ToString());
      slot->exec_template = std::move(*prepared);
    }
    ExecTarget target;
    target.container = name;
    target.exec = &*slot->exec_template;
    target.pid = slot->running->handle.pid();
    target.leaf = slot->running->leaf;
    executor.Run(target, std::move(cmd), [this, done = std::move(done)](ExecOutcome o) mutable {
      TrimSoon();
      done(std::move(o));
    });
  };
}

// --- Probes and hooks ----------------------------------------------------------------------

void EventLoop::Impl::OnProbes(ContainerSlot& slot,
                               const std::vector<ProbeTransition>& transitions) {
  for (const ProbeTransition& t : transitions) {
    Status st = OnProbe(slot, t);
    if (!st) spdlog::error("probe result of {}: {}", slot.name(), st.error().ToString());
  }
  Process();
}

Status EventLoop::Impl::OnProbe(ContainerSlot& slot, const ProbeTransition& t) {
  switch (t.kind) {
    case ProbeTransitionKind::kProbeFailed:
      Emit(
          ContainerEvent("ProbeFailed", slot,
                         {{"probe", std::string(ProbeKindName(t.probe))}, {"message", t.message}}));
      return Ok();
    case ProbeTransitionKind::kStarted:
      return Input(SupervisorInput::Of(SupervisorInput::Kind::kStartupSucceeded, slot.name()));
    case ProbeTransitionKind::kReady:
    case ProbeTransitionKind::kNotReady:
      return Input(SupervisorInput::WithFlag(SupervisorInput::Kind::kReadinessChanged, slot.name(),
                                             t.kind == ProbeTransitionKind::kReady));
    case ProbeTransitionKind::kLivenessFailed:
    case ProbeTransitionKind::kStartupFailed: {
      spdlog::info("{}: {} probe failed ({}): restarting it", slot.name(), ProbeKindName(t.probe),
                   t.message);
      SupervisorInput kill = SupervisorInput::Of(SupervisorInput::Kind::kProbeKill, slot.name());
      kill.grace = t.grace;
      return Input(std::move(kill));
    }
  }
  return Ok();
}

void EventLoop::Impl::StartHook(HookKind kind, ContainerSlot& slot,
                                std::optional<std::chrono::seconds> grace) {
  const std::string& name = slot.name();
  const auto& handler = kind == HookKind::kPostStart ? slot.container->lifecycle.post_start
                                                     : slot.container->lifecycle.pre_stop;
  Result<HookRun> run =
      handler ? PlanHook(kind, name, *handler, config.clock->Now(), grace, "lifecycle")
              : Result<HookRun>(Error::Invalid("no " + std::string(HookKindName(kind))));
  Emit(ContainerEvent("HookStarted", slot, {{"hook", std::string(HookKindName(kind))}}));
  if (!run) {  // validation refuses such hooks; fail it rather than hang the container
    spdlog::error("{} hook of {}: {}", HookKindName(kind), name, run.error().ToString());
    boost::asio::post(io, [this, kind, name] { OnHookFinished({kind, name, 126, {}}); });
    return;
  }
  hooks.Start(*run, ExecIn(name));
}

void EventLoop::Impl::OnHookFinished(const HookFinished& f) {
  if (ContainerSlot* slot = slots.Find(f.container)) {
    Emit(ContainerEvent("HookFinished", *slot,
                        {{"hook", std::string(HookKindName(f.hook))},
                         f.exit_code ? EventField{"exitCode", int64_t{*f.exit_code}}
                                     : EventField{"exitCode", nullptr}}));
  }
  Status st =
      f.hook == HookKind::kPostStart
          ? Input(SupervisorInput::WithFlag(SupervisorInput::Kind::kPostStartFinished, f.container,
                                            !PostStartKillsContainer(f.exit_code)))
          : Input(SupervisorInput::Of(SupervisorInput::Kind::kPreStopFinished, f.container));
  if (!st) spdlog::error("hook of {}: {}", f.container, st.error().ToString());
  // Later: hooks ending together (abandoned at one deadline) are all reported before the
  // actions that follow them.
  boost::asio::post(io, [this] {
    if (!outcome) Process();
  });
}

}  // namespace podshim::shim
