// EventLoop::Impl, the loop's state and steps, shared by the files that implement it:
// event_loop.cc (run, signals, exits, the action queue, timers), event_loop_actions.cc (signals
// to containers, exec, probes, hooks, events), container_launch.cc (a launch step by step) and
// event_loop_control.cc (the control API). Private to those files.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/sys.h"
#include "oci/launch_plan.h"
#include "shim/control/control_server.h"
#include "shim/pod/supervisor_input.h"
#include "shim/record/container_logs.h"
#include "shim/record/state_writer.h"
#include "shim/run/container_exec.h"
#include "shim/run/container_slot.h"
#include "shim/run/event_loop.h"
#include "shim/run/hook_runner.h"
#include "shim/run/leaf_retirer.h"
#include "shim/run/loop_sources.h"
#include "shim/run/probe_runner.h"
#include "shim/run/shim_upgrade.h"

namespace podshim::shim {

struct EventLoop::Impl {
  class Control;  // event_loop_control.cc

  explicit Impl(EventLoopConfig c);

  EventLoopConfig config;
  boost::asio::io_context io;
  std::unique_ptr<SignalSource> own_signals;  // the real ones unless the config gave seams
  std::unique_ptr<WakeTimer> own_wake;
  SignalSource* signal_source;
  WakeTimer* wake;
  boost::asio::steady_timer state_timer;
  bool state_timer_armed = false;
  StateWriter state;
  Supervisor& sup;
  ProbeRunner probe_runner;
  ContainerExecutor executor;
  HookRunner hooks;
  ContainerSlots slots;
  std::optional<LeafRetirer> retirer;  // with cgroups
  std::unique_ptr<control::ControlHandler> control_handler;
  std::unique_ptr<control::ControlServer> server;
  std::optional<PodOutcome> outcome;
  std::optional<int> shim_signal;
  bool probes_told_termination = false;
  bool processing = false;
  // A container was launched since the last TrimResidentPages (common/page_trim.h): the launch
  // code, run once per start, is dropped from the shim's RSS when the actions are done.
  bool launched_since_trim = false;
  // Armed by a control request or an exec (probe, hook, ctl exec): the pages they touched are
  // dropped once kTrimDelay passed with none of them (TrimSoon).
  boost::asio::steady_timer trim_timer;
  bool journal_failed = false;  // the last journal append failed (logged once)
  std::string last_status;      // what status.json holds, or will once it can be written
  std::optional<UpgradeBinary> upgrade_to;  // an accepted `ctl upgrade`, until it execs

  // --- event_loop.cc: the loop ---------------------------------------------------------------
  Result<PodOutcome> Run();
  // (Re)arms trim_timer: TrimResidentPages after kTrimDelay without another request or exec.
  void TrimSoon();
  Status Listen();
  void EmitPodStarted();
  void Shutdown();
  void ArmSignals();
  void OnSignals();
  void OnStopSignal(int signo);
  void Reap();
  void OnExit(const signals::ExitEvent& ev);
  // The running instance of `slot` ended with `exit`: recorded, reported, its leaf retired.
  void EndInstance(ContainerSlot& slot, ContainerExit exit);
  // Journals `input` (at the input clock's reading, taken now) and applies it.
  Status Input(SupervisorInput input);
  // --- the take-over of a running pod (config.recovery) ---------------------------------------
  Status Recover(LoopRecovery& r);
  // An adopted process that is not our child: its pidfd says when it ended.
  void WatchAdopted(ContainerSlot& slot);
  // `tries`: how often its keeper's exit file is looked for again (the keeper reaps it a
  // moment after the pidfd said it ended).
  void OnAdoptedExit(pid_t pid, int tries);
  // The output pipes an upgrade or a keeper handed over: each pumped on into its instance's log.
  void AdoptPipes(std::vector<HandedPipe>& pipes);
  void EmitShimUpgraded();
  void Process();
  void AfterActions();
  void ArmStateRetry();
  void ArmTimer();
  void Execute(SupervisorAction& action);
  void Do(LaunchAction& a);
  void Do(SignalAction& a);
  void Do(KillContainerAction& a);
  void Do(StartPostStartAction& a);
  void Do(StartPreStopAction& a);
  void Do(EmitAction& a);
  void Do(PodFinishedAction& a);

  // --- event_loop_actions.cc: what the loop does to containers -----------------------------
  void MakeProbes(ContainerSlot& slot);
  void Emit(const PodEvent& event);
  PodEvent ContainerEvent(std::string type, const ContainerSlot& slot,
                          std::vector<EventField> fields) const;
  void EmitSignalSent(const ContainerSlot& slot, int sig);
  Status SendSignal(ContainerSlot& slot, int sig);
  void KillContainer(ContainerSlot& slot);
  ExecInContainerFn ExecIn(std::string name);
  void OnProbes(ContainerSlot& slot, const std::vector<ProbeTransition>& transitions);
  Status OnProbe(ContainerSlot& slot, const ProbeTransition& t);
  void StartHook(HookKind kind, ContainerSlot& slot, std::optional<std::chrono::seconds> grace);
  void OnHookFinished(const HookFinished& f);

  // --- container_launch.cc: one launch, step by step -----------------------------------------
  // The pipes and stdin of a new instance.
  struct LaunchStdio {
    sys::PipePair out;
    sys::PipePair err;
    UniqueFd devnull;
  };
  Status Launch(const LaunchAction& a);
  Status LaunchInto(const LaunchAction& a, ContainerSlot& slot,
                    const std::optional<cgroups::CgroupPath>& leaf);
  Result<UniqueFd> PrepareLeaf(ContainerSlot& slot, const cgroups::CgroupPath& leaf);
  Result<ProcessHandle> StartProcess(ContainerSlot& slot, const LaunchStdio& stdio, int cgroup_fd,
                                     ContainerInstance& inst);
  void HoldPipes(const std::string& container, int restart_count, const LaunchStdio& stdio);
  void StartPumps(ContainerSlot& slot, LaunchStdio& stdio, std::shared_ptr<CriLogFile> log,
                  int restart_count);
  Status ReportStarted(ContainerSlot& slot, pid_t pid);
  std::shared_ptr<CriLogFile> OpenLog(const std::string& container, int restart_count);
  void RetireLeaf(ContainerSlot& slot, const cgroups::CgroupPath& leaf);

  // --- event_loop_control.cc -----------------------------------------------------------------
  std::unique_ptr<control::ControlHandler> MakeControl();
  // Why `ctl upgrade` cannot hand over now (the pod terminates, a hook or an exec runs, the
  // journal or the state dir is behind), or nullopt.
  std::optional<std::string> UpgradeBlocker();
  // Once the accepted upgrade's reply is written: flush, drain the pumps, exec. Returns only when
  // that failed (logged; the control socket accepts again and this image goes on).
  void ExecUpgrade();
};

}  // namespace podshim::shim
