#include "shim/run/hook_runner.h"

#include <string>
#include <variant>

#include "shim/control/deadline_timer.h"

namespace podshim::shim {
namespace {

// An exec hook that could not be started: what a shell says for a command it cannot run.
constexpr int kHookStartFailedExitCode = 126;

}  // namespace

HookRunner::HookRunner(boost::asio::io_context& io, const Clock& clock, ProbeRunner& runner,
                       int netns_fd, DoneFn done)
    : clock_(clock),
      runner_(runner),
      netns_fd_(netns_fd),
      done_(std::move(done)),
      hooks_(clock),
      timer_(io) {}

HookRunner::~HookRunner() { timer_.cancel(); }

void HookRunner::Start(const HookRun& run, ExecInContainerFn exec) {
  hooks_.Started(run);
  std::weak_ptr<int> alive = alive_;
  const std::string container = run.container;
  const HookKind hook = run.hook;
  if (const auto* e = std::get_if<HookExecStep>(&run.step)) {
    ExecCommand cmd;
    cmd.argv = e->argv;  // no timeout of its own: a preStop is abandoned at its deadline
    exec(std::move(cmd), [this, alive, container, hook](ExecOutcome o) {
      if (alive.expired()) return;
      Ended(container, hook, o.start_error ? kHookStartFailedExitCode : o.exit_code);
    });
  } else if (const auto* h = std::get_if<HookHttpStep>(&run.step)) {
    runner_.HttpGet(
        netns_fd_, h->action, h->timeout,
        [this, alive, container, hook](ProbeOutcome o) {
          if (alive.expired()) return;
          Ended(container, hook, HttpHookExitCode(o));
        },
        kHookUserAgent);
  }
  // A sleep ends at its time through the timer.
  Arm();
}

void HookRunner::Cancel(std::string_view container) {
  hooks_.Cancel(container);
  Arm();
}

void HookRunner::Ended(std::string_view container, HookKind hook, int exit_code) {
  std::optional<HookFinished> f = hooks_.Finished(container, hook, exit_code);
  Arm();
  if (f) done_(*f);
}

void HookRunner::Arm() {
  ArmDeadline(timer_, hooks_.NextDeadline(), alive_, [this] { FireDue(); });
}

void HookRunner::AbandonPreStop(std::string_view container) {
  if (!hooks_.Running(container, HookKind::kPreStop)) return;
  hooks_.Cancel(container);
  Arm();
  done_(HookFinished{HookKind::kPreStop, std::string(container), std::nullopt, {}});
}

void HookRunner::FireDue() {
  std::vector<HookFinished> due = hooks_.DueAt(clock_.Now());
  Arm();
  for (const HookFinished& f : due) done_(f);
}

}  // namespace podshim::shim
