// The task service's exec side that creates and starts (task_service.h): Exec records an exec
// process (its spec's Process JSON checked at once) and publishes TaskExecAdded; Start(exec_id)
// makes its cgroup below the container's, launches it as the shim's child and publishes
// TaskExecStarted before any exit can be reported; CloseIO lets a process's stdin reach EOF.
#include <fcntl.h>

#include <cerrno>
#include <utility>

#include "common/line_log.h"
#include "common/quoted.h"
#include "oci/spec_parse.h"
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

constexpr std::string_view kProcessType = "opencontainers/runtime-spec/1/Process";

// The exec's Process from the request's spec: an Any whose value is the JSON document.
std::expected<oci::Process, ttrpc::RpcError> ParseExecSpec(const v2::ExecProcessRequest& req) {
  auto invalid = [](std::string why) {
    return std::unexpected(ttrpc::RpcError{Code::kInvalidArgument, "Exec: spec: " + why});
  };
  if (!req.has_spec() || req.spec().value().empty()) return invalid("required");
  // containerd sends "types.containerd.io/opencontainers/runtime-spec/1/Process".
  if (!req.spec().type_url().ends_with(kProcessType)) {
    return invalid("type_url " + Quoted(req.spec().type_url()) + " is not a runtime-spec Process");
  }
  auto process = oci::ParseProcessJson(req.spec().value(), "Exec: spec");
  if (!process) {
    return std::unexpected(ttrpc::RpcError{Code::kInvalidArgument, process.error().ToString()});
  }
  if (process->args.empty()) return invalid("args: needs at least one entry");
  process->terminal = req.terminal();
  return std::move(*process);
}

}  // namespace

TaskService::FoundExec TaskService::FindExec(Task& task, const std::string& exec_id) {
  auto it = task.execs.find(exec_id);
  if (it == task.execs.end()) {
    return std::unexpected(ttrpc::RpcError{
        Code::kNotFound,
        "exec " + Quoted(exec_id) + " not found in container " + Quoted(task.key.id)});
  }
  return &it->second;
}

RpcResult TaskService::Exec(const std::string& payload) {
  auto req = ParsePayload<v2::ExecProcessRequest>(payload, "Exec");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  Task& task = **found;
  if (Status ok = CheckExecId(req->exec_id()); !ok) {
    return Fail(Code::kInvalidArgument, "Exec: " + ok.error().ToString());
  }
  if (task.execs.contains(req->exec_id())) {
    return Fail(Code::kAlreadyExists, "exec " + Quoted(req->exec_id()) +
                                          " already exists in container " + Quoted(task.key.id));
  }
  if (task.phase == Phase::kStopped) {
    return Fail(Code::kFailedPrecondition,
                "cannot exec in container " + Quoted(task.key.id) + ": it has stopped");
  }
  if (task.execs.size() >= kMaxExecsPerTask) {
    return Fail(Code::kResourceExhausted,
                "container " + Quoted(task.key.id) + " has " + std::to_string(task.execs.size()) +
                    " execs, the most it takes; delete finished ones first");
  }
  auto process = ParseExecSpec(*req);
  if (!process) return std::unexpected(process.error());
  ExecProcess& exec = task.execs[req->exec_id()];
  exec.exec_id = req->exec_id();
  exec.process = std::move(*process);
  exec.stdin_path = req->stdin();
  exec.stdout_path = req->stdout();
  exec.stderr_path = req->stderr();
  containerd::events::TaskExecAdded ev;
  ev.set_container_id(task.key.id);
  ev.set_exec_id(exec.exec_id);
  Emit("/tasks/exec-added", "TaskExecAdded", ev.SerializeAsString());
  return Reply(podshim::wire::Empty());
}

RpcResult TaskService::StartExec(Task& task, const std::string& exec_id) {
  FoundExec found = FindExec(task, exec_id);
  if (!found) return std::unexpected(found.error());
  ExecProcess& exec = **found;
  if (exec.phase != Phase::kCreated) {
    return Fail(Code::kFailedPrecondition, "exec " + Quoted(exec_id) + " was already started");
  }
  if (task.phase != Phase::kRunning) {
    return Fail(Code::kFailedPrecondition,
                "cannot exec in container " + Quoted(task.key.id) + ": it is not running");
  }
  ExecLaunch launch{task.key,         exec_id,          exec.process,     exec.stdin_path,
                    exec.stdout_path, exec.stderr_path, /*cgroup_dir=*/{}};
  auto container_cgroup = runtime_.CgroupDir(task.key);
  if (!container_cgroup) return std::unexpected(ToRpcError(container_cgroup.error()));
  if (!container_cgroup->empty()) {
    launch.cgroup_dir = ExecCgroupPath(*container_cgroup, exec_id);
    if (Status made = CreateExecCgroup(launch.cgroup_dir); !made) {
      return std::unexpected(ToRpcError(made.error()));
    }
  }
  auto created = runtime_.StartExec(launch);
  if (!created) {
    if (!launch.cgroup_dir.empty()) (void)RemoveExecCgroup(launch.cgroup_dir);
    return std::unexpected(ToRpcError(created.error()));
  }
  exec.cgroup = launch.cgroup_dir;
  exec.pid = created->pid;
  exec.phase = Phase::kRunning;
  exec.stdin_keep = std::move(created->stdin_keep);
  const std::string key = task.key.id + "/" + exec_id;
  if (created->master) {
    exec.master = std::move(created->master);
    UniqueFd relayed(::fcntl(exec.master.get(), F_DUPFD_CLOEXEC, 3));
    Status relaying =
        relayed && opts_.terminals
            ? opts_.terminals->Start(key, std::move(relayed), std::move(created->stdin_fifo),
                                     std::move(created->stdout_fifo))
            : Ok();
    // Running already: its output is lost, but it is reaped and reported as any other.
    if (!relaying) line_log::Error("exec " + key + ": relay: " + relaying.error().ToString());
  }
  PumpStdin(key, *created);
  // Published before the loop can report an exit: exec-started precedes exit.
  containerd::events::TaskExecStarted ev;
  ev.set_container_id(task.key.id);
  ev.set_exec_id(exec_id);
  ev.set_pid(static_cast<uint32_t>(exec.pid));
  Emit("/tasks/exec-started", "TaskExecStarted", ev.SerializeAsString());
  v2::StartResponse reply;
  reply.set_pid(static_cast<uint32_t>(exec.pid));
  return Reply(reply);
}

void TaskService::PumpStdin(const std::string& key, CreatedTask& created) {
  if (!created.stdin_pipe || !opts_.stdin_pumps) return;  // no pump: the process reads EOF
  Status pumping =
      opts_.stdin_pumps->Start(key, std::move(created.stdin_fifo), std::move(created.stdin_pipe));
  if (!pumping) line_log::Error(key + ": stdin pump: " + pumping.error().ToString());
}

RpcResult TaskService::CloseIO(const std::string& payload) {
  auto req = ParsePayload<v2::CloseIORequest>(payload, "CloseIO");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  UniqueFd* keep = &(*found)->stdin_keep;
  if (!req->exec_id().empty()) {
    FoundExec exec = FindExec(**found, req->exec_id());
    if (!exec) return std::unexpected(exec.error());
    keep = &(*exec)->stdin_keep;
  }
  // The FIFO's reader (pump or relay) sees EOF once the client's writer is gone too; the pump
  // then closes the process's stdin after writing what it read.
  if (req->stdin()) keep->Reset();
  return Reply(podshim::wire::Empty());
}

}  // namespace podshim::shim::task
