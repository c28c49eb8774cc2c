#include "shim/event_loop.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <list>
#include <type_traits>
#include <variant>

#include "common/sys.h"
#include "oci/launch_plan.h"
#include "shim/container_logs.h"
#include "shim/log_pump.h"
#include "signals/reaper.h"
#include "signals/signal_fd.h"
#include "signals/signal_names.h"

namespace podshim::shim {

int RunExitStatus(const PodOutcome& outcome) {
  if (outcome.shim_signal) return 128 + *outcome.shim_signal;
  return outcome.phase == PodPhase::kSucceeded ? 0 : 1;
}

struct EventLoop::Impl {
  struct Instance {
    ProcessHandle handle;
    std::optional<uint64_t> oom_before;
  };

  explicit Impl(EventLoopConfig c)
      : config(std::move(c)), sig_desc(io), timer(io), sup(*config.supervisor) {}

  EventLoopConfig config;
  boost::asio::io_context io;
  boost::asio::posix::stream_descriptor sig_desc;
  boost::asio::steady_timer timer;
  Supervisor& sup;
  std::optional<signals::SignalFd> sigfd;
  std::map<std::string, Instance> running;
  std::map<pid_t, std::string> by_pid;
  std::map<std::string, cgroups::CgroupPath> leaves;
  std::list<std::unique_ptr<LogPump>> pumps;
  std::optional<PodOutcome> outcome;
  std::optional<int> shim_signal;

  Result<PodOutcome> Run() {
    sigfd.emplace(PODSHIM_TRY(signals::SignalFd::Open({SIGCHLD, SIGTERM, SIGINT})));
    PODSHIM_TRY(signals::BecomeSubreaper());
    int dup = ::fcntl(sigfd->fd(), F_DUPFD_CLOEXEC, 3);
    if (dup < 0) return Error::Errno(errno, "dup signalfd");
    sig_desc.assign(dup);
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
    for (auto& p : pumps) p->Drain();
    pumps.clear();
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
    auto exits = signals::ReapAll();
    if (!exits) {
      spdlog::error("reap: {}", exits.error().ToString());
      return;
    }
    for (const signals::ExitEvent& ev : *exits) {
      auto it = by_pid.find(ev.pid);
      if (it == by_pid.end()) continue;  // an orphan re-parented to us, or a helper
      std::string name = it->second;
      by_pid.erase(it);
      Instance inst = std::move(running.at(name));
      running.erase(name);
      ContainerExit exit =
          ev.killed() ? ContainerExit::Signalled(ev.signal) : ContainerExit::Code(ev.exit_code);
      if (auto leaf = leaves.find(name); leaf != leaves.end() && config.cgroups) {
        auto after = config.cgroups->ReadOomKills(leaf->second);
        if (after) exit.oom = OomKillGrew(inst.oom_before, *after);
      }
      Status st = config.exit_records->Write(name, {exit.exit_code, exit.oom});
      if (!st) spdlog::error("exit record of {}: {}", name, st.error().ToString());
      Status reported = sup.OnContainerExited(name, exit);
      if (!reported) spdlog::error("report exit of {}: {}", name, reported.error().ToString());
    }
  }

  // Carries out every queued action (which may queue more), then writes status.json and
  // re-arms the timer.
  void Process() {
    for (;;) {
      auto actions = sup.TakeActions();
      if (actions.empty()) break;
      for (SupervisorAction& a : actions) Execute(a);
    }
    Status st = WritePodStatus(config.status_path, sup.Snapshot(), config.status_context);
    if (!st) spdlog::warn("status: {}", st.error().ToString());
    if (outcome) {
      timer.cancel();
      io.stop();
      return;
    }
    ArmTimer();
  }

  void ArmTimer() {
    auto deadline = sup.NextDeadline();
    if (!deadline) {
      timer.cancel();
      return;
    }
    timer.expires_at(*deadline);
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;  // re-armed or cancelled
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
            SendSignal(a.container, a.signal);
          } else if constexpr (std::is_same_v<T, KillContainerAction>) {
            KillContainer(a.container);
          } else if constexpr (std::is_same_v<T, StartPreStopAction>) {
            // Lifecycle hooks come with the probes issue; the plan asks for none yet.
            Status r = sup.OnPreStopFinished(a.container);
            if (!r) spdlog::error("preStop {}: {}", a.container, r.error().ToString());
          } else if constexpr (std::is_same_v<T, EmitAction>) {
            Emit(a.event);
          } else if constexpr (std::is_same_v<T, PodFinishedAction>) {
            outcome = PodOutcome{a.phase, a.reason, shim_signal};
          }
        },
        action);
  }

  void Emit(const PodEvent& event) {
    Status st = config.events->Write(event);
    if (!st) spdlog::error("event {}: {}", event.type, st.error().ToString());
  }

  void EmitSignalSent(const std::string& container, int sig) {
    PodEvent e;
    e.type = "SignalSent";
    e.time = config.clock->WallNow();
    e.container = container;
    if (const Container* c = FindContainer(config.pod->spec, container)) {
      e.role = c->role();
    }
    e.fields = {{"signal", signals::SignalName(sig)}};
    Emit(e);
  }

  void SendSignal(const std::string& name, int sig) {
    auto it = running.find(name);
    if (it == running.end()) return;  // exited; the exit is on its way
    Status st = config.signaller->Signal(it->second.handle, sig);
    if (!st) {
      spdlog::error("signal {}: {}", name, st.error().ToString());
      return;
    }
    EmitSignalSent(name, sig);
  }

  void KillContainer(const std::string& name) {
    Status st = Ok();
    auto leaf = leaves.find(name);
    if (config.cgroups && leaf != leaves.end()) {
      st = config.cgroups->Kill(leaf->second);
    } else if (auto it = running.find(name); it != running.end()) {
      st = config.signaller->Signal(it->second.handle, SIGKILL);
    } else {
      return;
    }
    if (!st) {
      spdlog::error("kill {}: {}", name, st.error().ToString());
      return;
    }
    EmitSignalSent(name, SIGKILL);
  }

  Status Launch(const LaunchAction& a) {
    const Container* c = FindContainer(config.pod->spec, a.container);
    auto spec = config.specs.find(a.container);
    if (!c || spec == config.specs.end()) {
      return Error::Domain(ErrorCode::kNotFound, "no container named " + a.container);
    }
    UniqueFd cgroup_fd;
    std::optional<cgroups::CgroupPath> leaf;
    if (config.cgroups) {
      auto known = leaves.find(a.container);
      if (known == leaves.end()) {
        cgroups::CgroupPath cg = PODSHIM_TRY(config.cgroups->CreateContainer(a.container));
        known = leaves.emplace(a.container, cg).first;
        if (auto v = config.container_values.find(a.container);
            v != config.container_values.end()) {
          PODSHIM_TRY(config.cgroups->Apply(cg, v->second));
        }
        if (auto warning = config.cgroups->TakeWarning()) spdlog::warn("{}", *warning);
      }
      leaf = known->second;
      cgroup_fd = PODSHIM_TRY(config.cgroups->OpenDirFd(*leaf));
    }
    auto log = std::make_shared<CriLogFile>(PODSHIM_TRY(
        CriLogFile::Open(ContainerLogPath(config.log_dir, a.container, a.restart_count))));
    sys::PipePair out = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
    sys::PipePair err = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
    UniqueFd devnull = PODSHIM_TRY(sys::Open("/dev/null", O_RDONLY));
    oci::LaunchOptions opts;
    opts.container_id = a.container;
    opts.stdin_fd = devnull.get();
    opts.stdout_fd = out.write.get();
    opts.stderr_fd = err.write.get();
    opts.cgroup_dir_fd = cgroup_fd.get();
    oci::LaunchPlan plan = PODSHIM_TRY(oci::BuildLaunchPlan(spec->second, c->bundle, opts));
    Instance inst;
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
    return sup.OnContainerStarted(a.container, pid);
  }
};

EventLoop::EventLoop(EventLoopConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

EventLoop::~EventLoop() = default;

Result<PodOutcome> EventLoop::Run() { return impl_->Run(); }

}  // namespace podshim::shim
