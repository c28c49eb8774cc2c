// TaskService: containerd's task API (containerd.task.v2.Task: Create, Start, Wait, State, Pids,
// Kill, Delete, Connect, Shutdown, ResizePty; Exec and CloseIO, and the exec_id forms) mapped onto
// a TaskRuntime, for the shim binary's one loop thread. Replies go through the call's Responder
// (Wait's when the task exits), events through `Publish` in call order, so a task's create, start,
// exit and delete events are ordered even when it exits at once. Every other method answers
// Unimplemented.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "shim/task/stdin_pumps.h"
#include "shim/task/task_exit.h"
#include "shim/task/task_runtime.h"
#include "shim/task/terminal_relays.h"
#include "shim/ttrpc/rpc_call.h"
#include "signals/exit_event.h"

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

  bool HasTasks() const { return !tasks_.empty(); }

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
    UniqueFd master;  // terminal=true: the pty master (ResizePty); empty otherwise
    int exit_status = 0;
    WallTime exited_at{};
    std::vector<ttrpc::Responder> waiters;
    UniqueFd stdin_keep;  // a write handle on its stdin FIFO until CloseIO
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
  void Emit(const char* topic, const char* name, const std::string& bytes);
  WallTime Now() const;

  TaskRuntime& runtime_;
  Publish publish_;
  TaskServiceOptions opts_;
  std::map<std::string, Task> tasks_;
};

}  // namespace podshim::shim::task
