#include "shim/task/task_service.h"

#include <utility>

#include "common/line_log.h"
#include "common/quoted.h"
#include "common/version.h"
#include "shim/proto/events.pb.h"
#include "shim/proto/task.pb.h"
#include "shim/task/rpc_errors.h"
#include "shim/task/rpc_payload.h"

namespace podshim::shim::task {
namespace {

namespace v2 = containerd::task::v2;
using ttrpc::Code;
using ttrpc::RpcError;
using ttrpc::RpcResult;

constexpr std::string_view kTaskService = "containerd.task.v2.Task";

}  // namespace

TaskService::TaskService(TaskRuntime& runtime, Publish publish, TaskServiceOptions opts)
    : runtime_(runtime), publish_(std::move(publish)), opts_(std::move(opts)) {}

void TaskService::Handle(ttrpc::RpcCall call, ttrpc::Responder respond) {
  if (call.service != kTaskService) {
    respond(Fail(Code::kUnimplemented, "service " + Quoted(call.service) + " is not implemented"));
    return;
  }
  using Sync = RpcResult (TaskService::*)(const std::string&);
  static const std::map<std::string, Sync, std::less<>> kSync = {
      {"Create", &TaskService::Create},   {"Start", &TaskService::Start},
      {"State", &TaskService::State},     {"Pids", &TaskService::Pids},
      {"Kill", &TaskService::Kill},       {"Delete", &TaskService::Delete},
      {"Connect", &TaskService::Connect}, {"ResizePty", &TaskService::ResizePty},
      {"Stats", &TaskService::Stats},     {"Update", &TaskService::Update},
      {"Pause", &TaskService::Pause},     {"Resume", &TaskService::Resume},
      {"Exec", &TaskService::Exec},       {"CloseIO", &TaskService::CloseIO},
  };
  if (auto it = kSync.find(call.method); it != kSync.end()) {
    respond((this->*(it->second))(call.payload));
  } else if (call.method == "Wait") {
    Wait(call.payload, respond);
  } else if (call.method == "Shutdown") {
    Shutdown(call.payload, respond);
  } else {
    respond(Fail(Code::kUnimplemented,
                 std::string(kTaskService) + "/" + call.method + " is not implemented by podshim"));
  }
}

void TaskService::OnExit(const signals::ExitEvent& exit) {
  for (auto& [id, task] : tasks_) {
    if (task.pid == exit.pid && task.phase != Phase::kStopped) {
      Exited(task, exit.status);
      return;
    }
    if (ExecExitedIfOurs(task, exit)) return;
  }
}

TaskService::Found TaskService::Find(const std::string& id, const std::string& exec_id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    return std::unexpected(RpcError{Code::kNotFound, "container " + Quoted(id) + " not found"});
  }
  if (!exec_id.empty()) {
    return std::unexpected(RpcError{
        Code::kNotFound, "exec " + Quoted(exec_id) + " not found in container " + Quoted(id)});
  }
  return &it->second;
}

void TaskService::Exited(Task& task, int exit_status) {
  task.phase = Phase::kStopped;
  task.exit_status = exit_status;
  task.exited_at = Now();
  // Its output keeps flowing until the pty is drained; the stdout FIFO closes then.
  if (task.master && opts_.terminals) opts_.terminals->TaskExited(task.key.id);
  // An OOM kill is published before the exit (CRI's OOMKilled comes only from TaskOOM): the
  // inotify event may still be on its way, so the counter is read now.
  if (task.oom_watched) {
    if (auto kills = opts_.oom->Read(task.key.id)) NoteOomKills(task, *kills);
  }
  // Durable before anyone hears of it: `delete` reports this record after a shim crash.
  Status recorded = runtime_.RecordExit(task.key, exit_status, task.oom_killed);
  if (!recorded) {
    line_log::Error("container " + task.key.id + ": record exit: " + recorded.error().ToString());
  }
  ReportExit(task.key.id, task.key.id, task.pid, exit_status, task.exited_at, task.waiters);
  if (stop_plan_) TakeStopActions(stop_plan_->OnContainerExited(task.key.id));
}

void TaskService::ReportExit(const std::string& container_id, const std::string& id, pid_t pid,
                             int exit_status, WallTime exited_at,
                             std::vector<ttrpc::Responder>& waiters) {
  containerd::events::TaskExit ev;
  ev.set_container_id(container_id);
  ev.set_id(id);
  ev.set_pid(static_cast<uint32_t>(pid));
  ev.set_exit_status(static_cast<uint32_t>(exit_status));
  SetTimestamp(exited_at, ev.mutable_exited_at());
  Emit("/tasks/exit", "TaskExit", ev.SerializeAsString());
  v2::WaitResponse reply;
  reply.set_exit_status(static_cast<uint32_t>(exit_status));
  SetTimestamp(exited_at, reply.mutable_exited_at());
  for (ttrpc::Responder& respond : std::exchange(waiters, {})) respond(Reply(reply));
}

void TaskService::Emit(const char* topic, const char* name, const std::string& bytes) {
  publish_(topic, std::string("containerd.events.") + name, bytes);
}

WallTime TaskService::Now() const {
  return opts_.clock ? opts_.clock() : std::chrono::system_clock::now();
}

void TaskService::Wait(const std::string& payload, ttrpc::Responder& respond) {
  auto req = ParsePayload<v2::WaitRequest>(payload, "Wait");
  if (!req) return respond(std::unexpected(req.error()));
  Found task = Find(req->id(), "");
  if (!task) return respond(std::unexpected(task.error()));
  if (!req->exec_id().empty()) return WaitExec(**task, req->exec_id(), respond);
  if ((*task)->phase != Phase::kStopped) {
    (*task)->waiters.push_back(std::move(respond));  // answered by Exited or Delete
    return;
  }
  v2::WaitResponse reply;
  reply.set_exit_status(static_cast<uint32_t>((*task)->exit_status));
  SetTimestamp((*task)->exited_at, reply.mutable_exited_at());
  respond(Reply(reply));
}

RpcResult TaskService::State(const std::string& payload) {
  auto req = ParsePayload<v2::StateRequest>(payload, "State");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  if (!req->exec_id().empty()) return ExecState(**found, req->exec_id());
  const Task& t = **found;
  v2::StateResponse reply;
  reply.set_id(t.key.id);
  reply.set_bundle(t.key.bundle.string());
  reply.set_pid(static_cast<uint32_t>(t.pid));
  switch (t.phase) {
    case Phase::kCreated:
      reply.set_status(v2::CREATED);
      break;
    case Phase::kRunning:
      reply.set_status(v2::RUNNING);
      break;
    case Phase::kStopped:
      reply.set_status(v2::STOPPED);
      break;
  }
  if (t.paused && t.phase == Phase::kRunning) reply.set_status(v2::PAUSED);
  reply.set_stdin(t.stdin_path);
  reply.set_stdout(t.stdout_path);
  reply.set_stderr(t.stderr_path);
  reply.set_terminal(static_cast<bool>(t.master));
  if (t.phase == Phase::kStopped) {
    reply.set_exit_status(static_cast<uint32_t>(t.exit_status));
    SetTimestamp(t.exited_at, reply.mutable_exited_at());
  }
  return Reply(reply);
}

RpcResult TaskService::Pids(const std::string& payload) {
  auto req = ParsePayload<v2::PidsRequest>(payload, "Pids");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  v2::PidsResponse reply;
  if ((*found)->phase == Phase::kStopped) return Reply(reply);
  auto pids = runtime_.Pids((*found)->key);
  if (!pids) return std::unexpected(ToRpcError(pids.error()));
  for (pid_t pid : *pids) reply.add_processes()->set_pid(static_cast<uint32_t>(pid));
  return Reply(reply);
}

RpcResult TaskService::Connect(const std::string& payload) {
  auto req = ParsePayload<v2::ConnectRequest>(payload, "Connect");
  if (!req) return std::unexpected(req.error());
  v2::ConnectResponse reply;
  reply.set_shim_pid(static_cast<uint32_t>(opts_.shim_pid));
  auto it = tasks_.find(req->id());
  reply.set_task_pid(it == tasks_.end() ? 0 : static_cast<uint32_t>(it->second.pid));
  reply.set_version(std::string(ProjectVersion()));
  return Reply(reply);
}

void TaskService::Shutdown(const std::string& payload, ttrpc::Responder& respond) {
  auto req = ParsePayload<v2::ShutdownRequest>(payload, "Shutdown");
  if (!req) return respond(std::unexpected(req.error()));
  respond(Reply(podshim::wire::Empty()));
  // Tasks left (other tasks of the pod): a no-op; the last task's Shutdown ends the shim.
  if (tasks_.empty() && opts_.on_shutdown) opts_.on_shutdown();
}

}  // namespace podshim::shim::task
