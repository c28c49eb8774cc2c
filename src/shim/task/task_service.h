// TaskService: containerd's task API (containerd.task.v2.Task, stage 1: Create, Start, Wait,
// State, Pids, Kill, Delete, Connect, Shutdown, ResizePty; stage 2: Stats, Update, Pause, Resume)
// mapped onto a TaskRuntime, for the shim
// binary's one loop thread. Replies go through the call's Responder (Wait's when the task exits),
// events through `Publish` in call order, so a task's create, start, exit and delete events are
// ordered even when it exits at once. Every other method answers Unimplemented.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "shim/task/task_exit.h"
#include "shim/task/task_runtime.h"
#include "shim/task/terminal_relays.h"
#include "shim/ttrpc/rpc_call.h"
#include "signals/exit_event.h"
#include "signals/termination_plan.h"

namespace podshim::shim::task {

// One event for containerd: topic "/tasks/exit", type_url "containerd.events.TaskExit", the
// serialized event message. The caller forwards them in order.
using Publish =
    std::function<void(std::string topic, std::string type_url, std::string event_bytes)>;

struct TaskServiceOptions {
  pid_t shim_pid = 0;  // Connect's shim_pid
  std::string ns;      // containerd namespace (-namespace), for the caller's envelopes
  // Called after Shutdown was answered when no task is left: the shim exits.
  std::function<void()> on_shutdown;
  std::function<WallTime()> clock;  // exited_at; empty: the system clock
  // Relays the ptys of tasks created with terminal=true; null: their masters are only kept.
  TerminalRelays* terminals = nullptr;
  // The pod stop's time (StopPod); null: the steady clock.
  const Clock* steady_clock = nullptr;
  // Arms the caller's one stop timer, which calls OnStopTimer when it fires (nullopt: disarm).
  std::function<void(std::optional<Clock::TimePoint>)> arm_stop_timer;
};

class TaskService {
 public:
  TaskService(TaskRuntime& runtime, Publish publish, TaskServiceOptions opts);

  // Answers `call` through `respond`, now or (Wait) later; never blocks for long.
  void Handle(ttrpc::RpcCall call, ttrpc::Responder respond);

  // The reaper's report of a reaped child. For a task's init: records the exit (its status:
  // the code, or 128+N after signal N), then publishes TaskExit and answers its Waits. Other pids
  // are ignored.
  void OnExit(const signals::ExitEvent& exit);

  bool HasTasks() const { return !tasks_.empty(); }

  // The shim was told to stop its pod (SIGTERM): app containers get SIGTERM, sidecars follow in
  // reverse order once the apps have exited, SIGKILL after the grace period, the sandbox last
  // (pod_stop_order.h, task_pod_stop.cc). Creates are refused from then on; tasks stay until
  // containerd deletes them. A second call does nothing.
  void StopPod(const std::string& reason);
  // The timer armed through arm_stop_timer fired.
  void OnStopTimer();
  bool StoppingPod() const { return pod_stopping_; }

 private:
  enum class Phase { kCreated, kRunning, kStopped };
  struct Task {
    TaskKey key;
    pid_t pid = 0;
    Phase phase = Phase::kCreated;
    std::string stdin_path, stdout_path, stderr_path;
    UniqueFd master;      // terminal=true: the pty master (ResizePty); empty otherwise
    bool paused = false;  // frozen by Pause (State says PAUSED while running)
    int exit_status = 0;
    WallTime exited_at{};
    std::vector<ttrpc::Responder> waiters;
    std::map<std::string, std::string> annotations;  // the spec's, for the pod stop order
    uint64_t created_seq = 0;                        // creation order
  };
  using Found = std::expected<Task*, ttrpc::RpcError>;

  // Stage-1 methods (task_service.cc, task_lifecycle_rpcs.cc): the reply or the status.
  ttrpc::RpcResult Create(const std::string& payload);
  ttrpc::RpcResult Start(const std::string& payload);
  ttrpc::RpcResult State(const std::string& payload);
  ttrpc::RpcResult Pids(const std::string& payload);
  ttrpc::RpcResult Kill(const std::string& payload);
  ttrpc::RpcResult Delete(const std::string& payload);
  ttrpc::RpcResult Connect(const std::string& payload);
  ttrpc::RpcResult ResizePty(const std::string& payload);
  // The cgroup methods (task_resource_rpcs.cc).
  ttrpc::RpcResult Stats(const std::string& payload);
  ttrpc::RpcResult Update(const std::string& payload);
  ttrpc::RpcResult Pause(const std::string& payload);
  ttrpc::RpcResult Resume(const std::string& payload);
  void Wait(const std::string& payload, ttrpc::Responder& respond);
  void Shutdown(const std::string& payload, ttrpc::Responder& respond);

  // The task `id` (NotFound otherwise); a non-empty exec_id is NotFound (no execs yet).
  Found Find(const std::string& id, const std::string& exec_id);
  // Marks `task` stopped with `exit_status` now, records it durably, publishes TaskExit and
  // answers its Waits.
  void Exited(Task& task, int exit_status);
  // Hands a new terminal task's pty to the relays (the service keeps a copy of the master).
  Status RelayTerminal(Task& task, CreatedTask& created);
  // The pod stop (task_pod_stop.cc): carries out the plan's actions, re-arms its timer and kills
  // the sandboxes and never-started tasks once every container has exited.
  void TakeStopActions(std::vector<signals::TerminationAction> actions);
  void EndPodStop();
  void Emit(const char* topic, const char* name, const std::string& bytes);
  WallTime Now() const;

  TaskRuntime& runtime_;
  Publish publish_;
  TaskServiceOptions opts_;
  std::map<std::string, Task> tasks_;
  uint64_t next_created_seq_ = 0;
  SteadyClock steady_clock_;
  bool pod_stopping_ = false;
  std::optional<signals::TerminationPlan> stop_plan_;
  std::vector<std::string> stop_last_;  // sandboxes, killed when the plan is done
};

}  // namespace podshim::shim::task
