#include "shim/run/container_probes.h"

#include <variant>

#include "shim/control/deadline_timer.h"

namespace podshim::shim {
namespace {

constexpr std::size_t kExecProbeOutputLimit = 10 * 1024;  // kubelet's maxProbeOutput

ProbeOutcome ExecOutcomeToProbe(const ExecOutcome& o, std::chrono::seconds timeout) {
  if (o.start_error) return {false, "exec failed: " + *o.start_error};
  ExecProbeExit exit;
  exit.exit_code = o.exit_code;
  exit.timed_out = o.timed_out;
  exit.output = o.stdout_text + o.stderr_text;
  return InterpretExecProbeExit(exit, timeout);
}

}  // namespace

ContainerProbes::ContainerProbes(boost::asio::io_context& io, const Clock& clock,
                                 const Container& container, ProbeRunner& runner, int netns_fd,
                                 ExecFn exec, ReportFn report)
    : set_(ProbeSet::ForContainer(clock, container)),
      clock_(clock),
      runner_(runner),
      netns_fd_(netns_fd),
      exec_(std::move(exec)),
      report_(std::move(report)),
      timer_(io) {}

ContainerProbes::~ContainerProbes() { timer_.cancel(); }

bool ContainerProbes::has_probes() const {
  return set_.has_probe(ProbeKind::kStartup) || set_.has_probe(ProbeKind::kReadiness) ||
         set_.has_probe(ProbeKind::kLiveness);
}

void ContainerProbes::OnContainerStarted() {
  Report(set_.OnContainerStarted());
  Arm();
}

void ContainerProbes::OnContainerExited() {
  Report(set_.OnContainerExited());
  Arm();
}

void ContainerProbes::OnTerminationStarted() {
  set_.OnTerminationStarted();
  Arm();
}

void ContainerProbes::Arm() {
  ArmDeadline(timer_, set_.NextDeadline(), alive_, [this] { RunDue(); });
}

void ContainerProbes::RunDue() {
  for (ProbeRun& run : set_.DueProbes(clock_.Now())) {
    const ProbeKind kind = run.kind;
    const uint64_t id = run.run_id;
    auto done = [this, kind, id, alive = std::weak_ptr<int>(alive_)](ProbeOutcome outcome) {
      if (!alive.expired()) Deliver(kind, id, outcome);
    };
    if (const auto* exec = std::get_if<ExecAction>(&run.probe.handler)) {
      ExecCommand cmd;
      cmd.argv = exec->command;
      cmd.timeout = run.probe.timeout;
      cmd.output_limit = kExecProbeOutputLimit;
      exec_(std::move(cmd), [done, timeout = run.probe.timeout](ExecOutcome o) {
        done(ExecOutcomeToProbe(o, timeout));
      });
    } else {
      runner_.Run(netns_fd_, run.probe, done);
    }
  }
  Arm();
}

void ContainerProbes::Deliver(ProbeKind kind, uint64_t run_id, const ProbeOutcome& outcome) {
  Report(set_.OnProbeResult(kind, run_id, outcome.success, outcome.message));
  Arm();
}

void ContainerProbes::Report(std::vector<ProbeTransition> transitions) {
  if (!transitions.empty()) report_(std::move(transitions));
}

}  // namespace podshim::shim
