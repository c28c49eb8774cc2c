// The task service's calls on a started exec process (task_service.h): Wait, State, Kill,
// ResizePty, Delete (no TaskDelete event for an exec, as runc's shim), its exit, and forgetting
// every exec when the container is deleted. An exec's cgroup is emptied and removed on Delete.
#include <cerrno>
#include <utility>

#include "common/line_log.h"
#include "common/quoted.h"
#include "shim/proto/events.pb.h"
#include "shim/proto/task.pb.h"
#include "shim/task/exec_cgroup.h"
#include "shim/task/rpc_errors.h"
#include "shim/task/rpc_payload.h"
#include "shim/task/task_service.h"

namespace podshim::shim::task {
namespace {

namespace v2 = containerd::task::v2;
using ttrpc::Code;
using ttrpc::RpcResult;

v2::Status StatusOf(int phase_index) {
  static constexpr v2::Status kByPhase[] = {v2::CREATED, v2::RUNNING, v2::STOPPED};
  return kByPhase[phase_index];
}

}  // namespace

bool TaskService::ExecExitedIfOurs(Task& task, const signals::ExitEvent& exit) {
  for (auto& [exec_id, exec] : task.execs) {
    if (exec.pid != exit.pid || exec.phase != Phase::kRunning) continue;
    exec.phase = Phase::kStopped;
    exec.exit_status = exit.status;
    exec.exited_at = Now();
    if (exec.master && opts_.terminals) opts_.terminals->TaskExited(task.key.id + "/" + exec_id);
    ReportExit(task.key.id, exec_id, exec.pid, exit.status, exec.exited_at, exec.waiters);
    return true;
  }
  return false;
}

void TaskService::WaitExec(Task& task, const std::string& exec_id, ttrpc::Responder& respond) {
  FoundExec found = FindExec(task, exec_id);
  if (!found) return respond(std::unexpected(found.error()));
  ExecProcess& exec = **found;
  if (exec.phase != Phase::kStopped) {
    exec.waiters.push_back(std::move(respond));
    return;
  }
  v2::WaitResponse reply;
  reply.set_exit_status(static_cast<uint32_t>(exec.exit_status));
  SetTimestamp(exec.exited_at, reply.mutable_exited_at());
  respond(Reply(reply));
}

RpcResult TaskService::ExecState(Task& task, const std::string& exec_id) {
  FoundExec found = FindExec(task, exec_id);
  if (!found) return std::unexpected(found.error());
  const ExecProcess& exec = **found;
  v2::StateResponse reply;
  reply.set_id(exec_id);
  reply.set_exec_id(exec_id);
  reply.set_bundle(task.key.bundle.string());
  reply.set_pid(static_cast<uint32_t>(exec.pid));
  reply.set_status(StatusOf(static_cast<int>(exec.phase)));
  reply.set_stdin(exec.stdin_path);
  reply.set_stdout(exec.stdout_path);
  reply.set_stderr(exec.stderr_path);
  reply.set_terminal(exec.process.terminal);
  if (exec.phase == Phase::kStopped) {
    reply.set_exit_status(static_cast<uint32_t>(exec.exit_status));
    SetTimestamp(exec.exited_at, reply.mutable_exited_at());
  }
  return Reply(reply);
}

RpcResult TaskService::KillExec(Task& task, const std::string& exec_id, int sig) {
  FoundExec found = FindExec(task, exec_id);
  if (!found) return std::unexpected(found.error());
  const ExecProcess& exec = **found;
  if (exec.phase == Phase::kStopped) return Reply(podshim::wire::Empty());
  if (exec.phase == Phase::kCreated) {
    return Fail(Code::kFailedPrecondition, "exec " + Quoted(exec_id) + " was not started");
  }
  // Not reaped yet (the reaper runs on this thread), so the pid is still this process's.
  Status sent = runtime_.SignalProcess(exec.pid, sig);
  if (!sent && sent.error().code() == std::error_code(ESRCH, std::system_category())) {
    return Fail(Code::kNotFound, "exec " + Quoted(exec_id) + ": process already finished");
  }
  if (!sent) return std::unexpected(ToRpcError(sent.error()));
  return Reply(podshim::wire::Empty());
}

RpcResult TaskService::ResizeExecPty(Task& task, const std::string& exec_id, uint32_t width,
                                     uint32_t height) {
  FoundExec found = FindExec(task, exec_id);
  if (!found) return std::unexpected(found.error());
  if (!(*found)->master) {
    return Fail(Code::kFailedPrecondition,
                "exec " + Quoted(exec_id) + " has no terminal (started without one)");
  }
  if (width > UINT16_MAX || height > UINT16_MAX) {
    return Fail(Code::kInvalidArgument, "ResizePty: width and height: " + std::to_string(width) +
                                            "x" + std::to_string(height) + " is over 65535");
  }
  Status resized = runtime_.ResizePty((*found)->master.get(), static_cast<uint16_t>(width),
                                      static_cast<uint16_t>(height));
  if (!resized) return std::unexpected(ToRpcError(resized.error()));
  return Reply(podshim::wire::Empty());
}

RpcResult TaskService::DeleteExec(Task& task, const std::string& exec_id) {
  FoundExec found = FindExec(task, exec_id);
  if (!found) return std::unexpected(found.error());
  ExecProcess& exec = **found;
  if (exec.phase == Phase::kRunning) {
    return Fail(Code::kFailedPrecondition,
                "cannot delete exec " + Quoted(exec_id) + ": it is running");
  }
  const std::string key = task.key.id + "/" + exec_id;
  if (exec.master && opts_.terminals) opts_.terminals->Stop(key);
  if (opts_.stdin_pumps) opts_.stdin_pumps->Stop(key);
  // What it left behind (`sleep 100 &`) dies with its cgroup.
  Status removed = exec.cgroup.empty() ? Ok() : RemoveExecCgroup(exec.cgroup);
  v2::DeleteResponse reply;
  reply.set_pid(static_cast<uint32_t>(exec.pid));
  reply.set_exit_status(static_cast<uint32_t>(exec.exit_status));
  if (exec.phase == Phase::kStopped) SetTimestamp(exec.exited_at, reply.mutable_exited_at());
  for (ttrpc::Responder& respond : std::exchange(exec.waiters, {})) {
    respond(Fail(Code::kNotFound, "exec " + Quoted(exec_id) + " was deleted"));
  }
  task.execs.erase(exec_id);  // forgotten even on error
  if (!removed) return std::unexpected(ToRpcError(removed.error()));
  return Reply(reply);
}

void TaskService::ForgetExecs(Task& task) {
  for (auto& [exec_id, exec] : task.execs) {
    const std::string key = task.key.id + "/" + exec_id;
    if (exec.master && opts_.terminals) opts_.terminals->Stop(key);
    if (opts_.stdin_pumps) opts_.stdin_pumps->Stop(key);
    for (ttrpc::Responder& respond : std::exchange(exec.waiters, {})) {
      respond(Fail(Code::kNotFound, "exec " + Quoted(exec_id) + ": its container was deleted"));
    }
    if (exec.cgroup.empty()) continue;
    if (Status removed = RemoveExecCgroup(exec.cgroup); !removed) {
      line_log::Error("exec " + key + ": " + removed.error().ToString());
    }
  }
  task.execs.clear();
}

}  // namespace podshim::shim::task
