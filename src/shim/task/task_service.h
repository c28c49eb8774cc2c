// TaskService: containerd's task API (containerd.task.v2.Task: Create, Start, Wait, State, Pids,
// Kill, Delete, Connect, Shutdown, ResizePty, Exec and CloseIO with the exec_id forms, Stats,
// Update, Pause, Resume) mapped onto a TaskRuntime, for the shim binary's one loop thread. Replies
// go through the call's Responder (Wait's when the task exits), events through `Publish` in call
// order, so a task's create, start, exit and delete events are ordered even when it exits at once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "shim/task/oom_watch.h"
#include "shim/task/stdin_pumps.h"
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

// Bounds on what clients can make a shim hold: tasks per shim (a pod's containers) and execs
// (not yet deleted) per task. Calls beyond them answer ResourceExhausted.
inline constexpr size_t kMaxTasks = 1024;
inline constexpr size_t kMaxExecsPerTask = 1024;

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
  // Watches each task's cgroup for OOM kills (TaskOOM, the exit record's OOM mark); null: none.
  OomWatch* oom = nullptr;
  // Pumps the stdin FIFO of processes without a terminal into their stdin pipe; null: the pipe
  // is closed at once (the process reads EOF).
  StdinPumps* stdin_pumps = nullptr;
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

  // The OOM watch's report: task `id`'s memory.events oom_kill counter is now `count`. A rise
  // publishes TaskOOM (task_oom.cc). Unknown ids are ignored.
  void OnOomKills(const std::string& id, uint64_t count);

  bool HasTasks() const { return !tasks_.empty(); }

  // The shim was told to stop its pod (SIGTERM): app containers get SIGTERM, sidecars follow in
  // reverse order once the apps have exited, SIGKILL after the grace period, the sandbox last
  // (pod_stop_order.h, task_pod_stop.cc). Creates are refused from then on; tasks stay until
  // containerd deletes them. A second call while the stop runs does nothing; a call when no task
  // is alive (none, or all exited) ends the shim at once (on_shutdown).
  void StopPod(const std::string& reason);
  // The timer armed through arm_stop_timer fired.
  void OnStopTimer();
  bool StoppingPod() const { return pod_stopping_; }

 private:
  enum class Phase { kCreated, kRunning, kStopped };
  // An exec process (task_exec_rpcs.cc): recorded by Exec, launched by Start(exec_id).
  struct ExecProcess {
    std::string exec_id;
    oci::Process process;  // process.terminal = the request's terminal
    pid_t pid = 0;
    Phase phase = Phase::kCreated;
    std::string stdin_path, stdout_path, stderr_path;
    std::filesystem::path cgroup;  // its own cgroup; empty: none
    UniqueFd master;               // terminal: the pty master (ResizePty)
    UniqueFd stdin_keep;           // a write handle on its stdin FIFO until CloseIO
    int exit_status = 0;
    WallTime exited_at{};
    std::vector<ttrpc::Responder> waiters;
  };
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
    bool oom_watched = false;                        // its cgroup's memory.events is watched
    uint64_t oom_kills = 0;   // the oom_kill count last seen (at Create: the baseline)
    bool oom_killed = false;  // the counter rose during its life: OOMKilled
    UniqueFd stdin_keep;      // a write handle on its stdin FIFO until CloseIO
    std::map<std::string, ExecProcess> execs;
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
  // Exec processes and stdin (task_exec_rpcs.cc, task_exec_process.cc).
  ttrpc::RpcResult Exec(const std::string& payload);
  ttrpc::RpcResult CloseIO(const std::string& payload);
  ttrpc::RpcResult StartExec(Task& task, const std::string& exec_id);
  ttrpc::RpcResult ExecState(Task& task, const std::string& exec_id);
  ttrpc::RpcResult KillExec(Task& task, const std::string& exec_id, int sig);
  ttrpc::RpcResult DeleteExec(Task& task, const std::string& exec_id);
  ttrpc::RpcResult ResizeExecPty(Task& task, const std::string& exec_id, uint32_t width,
                                 uint32_t height);
  void WaitExec(Task& task, const std::string& exec_id, ttrpc::Responder& respond);
  using FoundExec = std::expected<ExecProcess*, ttrpc::RpcError>;
  FoundExec FindExec(Task& task, const std::string& exec_id);
  // The exec with `pid` stopped: publishes TaskExit (id = exec id) and answers its Waits.
  bool ExecExitedIfOurs(Task& task, const signals::ExitEvent& exit);
  // Hands a new process's stdin pipe to the pumps (`key`: the task id or "<id>/<exec id>").
  void PumpStdin(const std::string& key, CreatedTask& created);
  // Stops every exec of `task` (their relays, pumps and cgroups) before the task goes.
  void ForgetExecs(Task& task);

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
  // OOM (task_oom.cc): watches a new task's cgroup (none: nothing); takes a counter reading,
  // publishing TaskOOM when it rose; stops watching before the cgroup goes.
  void WatchOom(Task& task);
  void NoteOomKills(Task& task, uint64_t count);
  void UnwatchOom(Task& task);
  // Publishes TaskExit for `id` (the container's own id, or an exec id) and answers its Waits.
  void ReportExit(const std::string& container_id, const std::string& id, pid_t pid,
                  int exit_status, WallTime exited_at, std::vector<ttrpc::Responder>& waiters);
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
