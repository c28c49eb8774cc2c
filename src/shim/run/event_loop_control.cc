// The control API over the running pod: what `podshim ctl` asks, answered on the loop's thread.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <optional>
#include <string>
#include <utility>

#include "common/quoted.h"
#include "common/version.h"
#include "shim/run/event_loop_impl.h"
#include "shim/run/pod_stats.h"

namespace podshim::shim {
namespace {

using control::ControlError;
using control::Reply;

ControlError Unavailable(std::string message) {
  return {control::ErrorCode::kUnavailable, std::move(message)};
}

}  // namespace

class EventLoop::Impl::Control final : public control::ControlHandler {
 public:
  explicit Control(Impl& impl) : impl_(impl) {}

  ContainerSlot* Known(const std::string& name) const { return impl_.slots.Find(name); }
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
    (void)impl_.Input(SupervisorInput::StopRequest(TerminationReason::kRequest, effective));
    r.grace_period_seconds =
        (r.already_terminating && effective.count() > 0 ? impl_.sup.TerminationGrace() : effective)
            .count();
    impl_.Process();
    return r;
  }

  Reply<control::KillResult> Kill(const std::string& container, int signal) override {
    ContainerSlot* slot = Known(container);
    if (!slot) return std::unexpected(UnknownContainer(container));
    if (!slot->running) {
      return std::unexpected(Unavailable("container " + Quoted(container) + " is not running"));
    }
    if (::podshim::Status st = impl_.SendSignal(*slot, signal); !st) {
      return std::unexpected(ControlError{control::ErrorCode::kInternal, st.error().ToString()});
    }
    impl_.Process();
    return control::KillResult{container, signal};
  }

  Reply<control::RestartResult> Restart(const std::string& container) override {
    if (!Known(container)) return std::unexpected(UnknownContainer(container));
    if (::podshim::Status st =
            impl_.Input(SupervisorInput::Of(SupervisorInput::Kind::kRestartRequest, container));
        !st) {
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
    ContainerSlot* slot = Known(request.container);
    if (!slot) return fail(UnknownContainer(request.container));
    if (!slot->running) {
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
                           impl_.slots.Leaves());
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

  control::VersionResult Version() override {
    control::VersionResult v = control::CurrentVersion();
    if (impl_.config.upgrade) v.handovers = impl_.config.upgrade->handovers;
    return v;
  }

  // Checked here, before anything changes; the exec follows once the reply is out
  // (UpgradeReplied). The control socket takes no connection meanwhile: whoever connects next
  // is answered by the new image.
  Reply<control::UpgradeResult> Upgrade(const std::string& binary) override {
    if (!impl_.config.upgrade || !impl_.server) {
      return std::unexpected(Unavailable("this shim cannot hand its pod over (no lock or socket)"));
    }
    if (std::optional<std::string> blocker = impl_.UpgradeBlocker()) {
      return std::unexpected(Unavailable("cannot upgrade now: " + *blocker));
    }
    Result<UpgradeBinary> checked = CheckUpgradeBinary(binary);
    if (!checked) {
      return std::unexpected(
          ControlError{control::ErrorCode::kBadRequest, checked.error().ToString()});
    }
    control::UpgradeResult r{binary, std::string(ProjectVersion()), checked->version, ::getpid(),
                             impl_.config.upgrade->handovers + 1};
    spdlog::info("upgrade in place to {} (version {}) accepted", binary, checked->version);
    impl_.upgrade_to = std::move(*checked);
    impl_.server->PauseAccepting();
    return r;
  }

  void UpgradeReplied() override { impl_.ExecUpgrade(); }

 private:
  Impl& impl_;
};

std::unique_ptr<control::ControlHandler> EventLoop::Impl::MakeControl() {
  return std::make_unique<Control>(*this);
}

std::optional<std::string> EventLoop::Impl::UpgradeBlocker() {
  if (upgrade_to) return "an upgrade is under way";
  if (sup.Finished()) return "the pod has finished";
  if (sup.Terminating()) return "the pod is terminating";
  std::optional<std::string> hook;
  slots.ForEach([&](ContainerSlot& slot) {
    if (!hook && hooks.Running(slot.name())) hook = "a hook of " + Quoted(slot.name()) + " runs";
  });
  if (hook) return hook;
  if (!executor.idle()) return "an exec (ctl exec or an exec probe) runs; try again";
  // The next image rebuilds the supervisor from the journal: it must hold every input.
  if (config.journal && (!config.journal->intact() || config.journal->pending() > 0)) {
    return "the supervisor journal is behind (the disk is full?)";
  }
  if (state.pending() && !state.Flush()) return "the state dir is behind (the disk is full?)";
  return std::nullopt;
}

void EventLoop::Impl::ExecUpgrade() {
  std::optional<UpgradeBinary> to = std::exchange(upgrade_to, std::nullopt);
  if (!to) return;
  // Something may have begun between the reply and now (a stop, a hook, an exec).
  std::optional<std::string> blocker = UpgradeBlocker();
  if (!blocker && !state.Flush()) blocker = "the state dir is behind (the disk is full?)";
  if (blocker) {
    spdlog::warn("upgrade to {} abandoned: {}", to->path, *blocker);
    server->ResumeAccepting();
    return;
  }
  HandoverRecord r;
  r.cwd = config.upgrade->cwd;
  r.argv = config.upgrade->argv;
  r.from_version = std::string(ProjectVersion());
  r.handovers = config.upgrade->handovers + 1;
  r.lock_fd = config.upgrade->lock_fd;
  r.listen_fd = server->listen_fd();
  r.ns_fds = config.upgrade->ns_fds;
  r.keeper_fd = config.upgrade->keeper_fd;
  // What the pipes hold now is written here; what comes later waits in them for the next image.
  slots.ForEach([&](ContainerSlot& slot) {
    for (auto& pump : slot.pumps) {
      pump->ReadAvailable();
      if (pump->fd() < 0) continue;
      r.pipes.push_back(
          {slot.name(), pump->instance(), pump->stream(), pump->fd(), pump->pending()});
    }
  });
  spdlog::info("upgrading in place: exec {} (version {} -> {}), {} output pipes handed over",
               to->path, r.from_version, to->version, r.pipes.size());
  spdlog::default_logger()->flush();
  Status st = ExecHandover(to->path, r);
  spdlog::error("upgrade to {} failed, this image goes on: {}", to->path, st.error().ToString());
  server->ResumeAccepting();
}

}  // namespace podshim::shim
