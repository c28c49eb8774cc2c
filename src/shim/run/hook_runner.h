// HookRunner: carries out lifecycle hooks (hooks.h) on the shim's io_context: exec in the
// container, httpGet (HTTP or HTTPS) through ProbeRunner in the pod's network namespace, sleep as a
// timer. The pure RunningHooks tracks them; one timer at its NextDeadline ends sleeps and abandons
// a preStop at its deadline (exitCode nullopt). Each hook ends exactly once, through `done`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string_view>

#include "common/clock.h"
#include "shim/pod/hooks.h"
#include "shim/run/container_exec.h"
#include "shim/run/probe_runner.h"

namespace podshim::shim {

class HookRunner {
 public:
  using DoneFn = std::function<void(const HookFinished&)>;

  // Everything must outlive the runner.
  HookRunner(boost::asio::io_context& io, const Clock& clock, ProbeRunner& runner, int netns_fd,
             DoneFn done);
  ~HookRunner();
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  // Starts `run` (PlanHook); `exec` runs an exec hook in the run's container. A hook of the same
  // container still running is replaced without a `done` for it.
  void Start(const HookRun& run, ExecInContainerFn exec);
  // The container exited: its hook, if any, ends without `done`.
  void Cancel(std::string_view container);
  // Ends now what is due by clock.Now() (sleeps, preStops past their deadline), through `done`.
  // The event loop calls it before the supervisor's own deadlines, so a preStop abandoned at the
  // grace deadline is reported before the stop signal that follows it.
  void FireDue();
  // The container's preStop, if still running, is abandoned now (`done` with exitCode nullopt):
  // the termination moved on without it (its grace deadline) and signals the container next.
  void AbandonPreStop(std::string_view container);
  // True while a hook of `container` runs.
  bool Running(std::string_view container) const { return hooks_.Running(container); }

 private:
  void Ended(std::string_view container, HookKind hook, int exit_code);
  void Arm();

  const Clock& clock_;
  ProbeRunner& runner_;
  int netns_fd_;
  DoneFn done_;
  RunningHooks hooks_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace podshim::shim
