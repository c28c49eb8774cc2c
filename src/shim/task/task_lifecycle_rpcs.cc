// The task service's methods that change a task: Create, Start, Kill, Delete (task_service.h).
#include <signal.h>

#include <optional>
#include <utility>

#include "common/quoted.h"
#include "shim/proto/events.pb.h"
#include "shim/proto/task.pb.h"
#include "shim/task/rpc_errors.h"
#include "shim/task/rpc_payload.h"
#include "shim/task/task_service.h"

namespace podshim::shim::task {
namespace {

namespace v2 = containerd::task::v2;
using ttrpc::Code;
using ttrpc::RpcResult;

constexpr int kStatusKilled = 128 + SIGKILL;  // a created task removed before it ran

bool IsGone(const Error& e) {
  return e.code() == std::error_code(ESRCH, std::system_category()) ||
         e.code() == make_error_code(ErrorCode::kConflict);
}

TaskLaunch LaunchOf(const v2::CreateTaskRequest& req) {
  TaskLaunch launch;
  launch.key = {req.id(), req.bundle()};
  for (const auto& m : req.rootfs()) {
    launch.rootfs.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  launch.stdin_path = req.stdin();
  launch.stdout_path = req.stdout();
  launch.stderr_path = req.stderr();
  launch.terminal = req.terminal();
  return launch;
}

// What Create refuses before touching anything.
std::optional<ttrpc::RpcError> CheckCreate(const v2::CreateTaskRequest& req) {
  if (req.id().empty()) return ttrpc::RpcError{Code::kInvalidArgument, "Create: id: required"};
  if (req.bundle().empty() || req.bundle()[0] != '/') {
    return ttrpc::RpcError{Code::kInvalidArgument,
                           "Create: bundle: " + Quoted(req.bundle()) + " is not an absolute path"};
  }
  if (!req.checkpoint().empty() || !req.parent_checkpoint().empty()) {
    return ttrpc::RpcError{Code::kUnimplemented,
                           "Create: checkpoint: restoring a checkpoint is not supported"};
  }
  return std::nullopt;
}

}  // namespace

RpcResult TaskService::Create(const std::string& payload) {
  auto req = ParsePayload<v2::CreateTaskRequest>(payload, "Create");
  if (!req) return std::unexpected(req.error());
  if (auto refused = CheckCreate(*req)) return std::unexpected(*refused);
  if (pod_stopping_) {
    return Fail(Code::kFailedPrecondition,
                "container " + Quoted(req->id()) + ": the shim is stopping its pod");
  }
  if (tasks_.size() >= kMaxTasks) {
    return Fail(Code::kResourceExhausted, "container " + Quoted(req->id()) + ": this shim has " +
                                              std::to_string(tasks_.size()) +
                                              " tasks, the most it takes");
  }
  if (tasks_.contains(req->id())) {
    return Fail(Code::kAlreadyExists, "container " + Quoted(req->id()) + " already exists");
  }
  TaskLaunch launch = LaunchOf(*req);
  auto created = runtime_.Create(launch);
  if (!created) return std::unexpected(ToRpcError(created.error()));
  const pid_t pid = created->pid;
  Task& task = tasks_[req->id()];
  task.key = launch.key;
  task.pid = pid;
  task.annotations = std::move(created->annotations);
  task.created_seq = next_created_seq_++;
  if (launch.terminal) {
    if (Status relayed = RelayTerminal(task, *created); !relayed) {
      (void)runtime_.Remove(task.key);  // the container never ran: nothing to report
      tasks_.erase(req->id());
      return std::unexpected(ToRpcError(relayed.error()));
    }
  }
  task.stdin_keep = std::move(created->stdin_keep);
  PumpStdin(task.key.id, *created);
  task.stdin_path = req->stdin();
  task.stdout_path = req->stdout();
  task.stderr_path = req->stderr();
  WatchOom(task);

  containerd::events::TaskCreate ev;
  ev.set_container_id(req->id());
  ev.set_bundle(req->bundle());
  *ev.mutable_rootfs() = req->rootfs();
  ev.mutable_io()->set_stdin(req->stdin());
  ev.mutable_io()->set_stdout(req->stdout());
  ev.mutable_io()->set_stderr(req->stderr());
  ev.mutable_io()->set_terminal(req->terminal());
  ev.set_pid(static_cast<uint32_t>(pid));
  Emit("/tasks/create", "TaskCreate", ev.SerializeAsString());
  v2::CreateTaskResponse reply;
  reply.set_pid(static_cast<uint32_t>(pid));
  return Reply(reply);
}

RpcResult TaskService::Start(const std::string& payload) {
  auto req = ParsePayload<v2::StartRequest>(payload, "Start");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  if (!req->exec_id().empty()) return StartExec(**found, req->exec_id());
  Task& task = **found;
  if (task.phase != Phase::kCreated) {
    return Fail(Code::kFailedPrecondition,
                "container " + Quoted(task.key.id) +
                    (task.phase == Phase::kRunning ? " is already running" : " has stopped"));
  }
  Status started = runtime_.Start(task.key);
  if (!started) return std::unexpected(ToRpcError(started.error()));
  task.phase = Phase::kRunning;
  // Published before the loop can report an exit: start precedes exit even for `true`.
  containerd::events::TaskStart ev;
  ev.set_container_id(task.key.id);
  ev.set_pid(static_cast<uint32_t>(task.pid));
  Emit("/tasks/start", "TaskStart", ev.SerializeAsString());
  v2::StartResponse reply;
  reply.set_pid(static_cast<uint32_t>(task.pid));
  return Reply(reply);
}

RpcResult TaskService::Kill(const std::string& payload) {
  auto req = ParsePayload<v2::KillRequest>(payload, "Kill");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  Task& task = **found;
  if (req->signal() > static_cast<uint32_t>(SIGRTMAX)) {
    return Fail(Code::kInvalidArgument,
                "Kill: signal: " + std::to_string(req->signal()) + " is not a signal number");
  }
  if (!req->exec_id().empty()) {
    return KillExec(task, req->exec_id(), static_cast<int>(req->signal()));
  }
  // CRI sends Kill(9, all) after the exit: nothing left to signal is success.
  if (task.phase == Phase::kStopped) return Reply(podshim::wire::Empty());
  const int sig = static_cast<int>(req->signal());
  Status sent = req->all() ? runtime_.SignalAll(task.key, sig) : runtime_.Signal(task.key, sig);
  if (!sent && IsGone(sent.error())) {
    // Dead but not reaped yet: as runc's shim, "process already finished".
    return Fail(Code::kNotFound, "container " + Quoted(task.key.id) + ": process already finished");
  }
  if (!sent) return std::unexpected(ToRpcError(sent.error()));
  return Reply(podshim::wire::Empty());
}

RpcResult TaskService::Delete(const std::string& payload) {
  auto req = ParsePayload<v2::DeleteRequest>(payload, "Delete");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  Task& task = **found;
  if (!req->exec_id().empty()) return DeleteExec(task, req->exec_id());
  if (task.phase == Phase::kRunning) {
    return Fail(Code::kFailedPrecondition,
                "cannot delete container " + Quoted(task.key.id) + ": it is running");
  }
  UnwatchOom(task);                            // before its cgroup goes
  ForgetExecs(task);                           // their cgroups go before the container's
  Status removed = runtime_.Remove(task.key);  // a created one is killed first, as runc does
  if (task.phase == Phase::kCreated) Exited(task, kStatusKilled);
  if (task.master && opts_.terminals) opts_.terminals->Stop(task.key.id);
  if (opts_.stdin_pumps) opts_.stdin_pumps->Stop(task.key.id);
  Task gone = std::move(task);  // its master closes at the end of the call
  tasks_.erase(gone.key.id);    // forgotten even on error: `delete` cleans up after us
  containerd::events::TaskDelete ev;
  ev.set_container_id(gone.key.id);
  ev.set_pid(static_cast<uint32_t>(gone.pid));
  ev.set_exit_status(static_cast<uint32_t>(gone.exit_status));
  SetTimestamp(gone.exited_at, ev.mutable_exited_at());
  ev.set_id(gone.key.id);
  Emit("/tasks/delete", "TaskDelete", ev.SerializeAsString());
  if (!removed) return std::unexpected(ToRpcError(removed.error()));
  v2::DeleteResponse reply;
  reply.set_pid(static_cast<uint32_t>(gone.pid));
  reply.set_exit_status(static_cast<uint32_t>(gone.exit_status));
  SetTimestamp(gone.exited_at, reply.mutable_exited_at());
  return Reply(reply);
}

}  // namespace podshim::shim::task
