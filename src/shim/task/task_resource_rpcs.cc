// The task service's cgroup methods (task_service.h): Stats (io.containerd.cgroups.v2.Metrics
// from the container's cgroup), Update (linux.resources as JSON, merged and written), Pause and
// Resume (cgroup.freeze, with the TaskPaused and TaskResumed events). Update, Pause and Resume
// need a cgroup; Stats answers zeros without one, so containerd keeps listing the container.
#include <optional>
#include <string>

#include "common/quoted.h"
#include "shim/proto/events.pb.h"
#include "shim/proto/task.pb.h"
#include "shim/task/cgroup_metrics.h"
#include "shim/task/rpc_errors.h"
#include "shim/task/rpc_payload.h"
#include "shim/task/task_service.h"

namespace podshim::shim::task {
namespace {

namespace v2 = containerd::task::v2;
using ttrpc::Code;
using ttrpc::RpcError;
using ttrpc::RpcResult;

// What containerd's Update wraps the JSON in ("types.containerd.io/" + this).
constexpr std::string_view kLinuxResourcesType = "opencontainers/runtime-spec/1/LinuxResources";

// FailedPrecondition unless `dir` (the task's CgroupDir) names a cgroup.
std::optional<RpcError> NeedsCgroup(const Result<std::filesystem::path>& dir,
                                    std::string_view method, const std::string& id) {
  if (!dir) return ToRpcError(dir.error().Wrapped(method));
  if (!dir->empty()) return std::nullopt;
  return RpcError{Code::kFailedPrecondition,
                  std::string(method) + ": container " + Quoted(id) +
                      " has no cgroup (the host has no cgroup2 mount), so there is nothing to " +
                      (method == "Update" ? "apply resources to" : "freeze")};
}

}  // namespace

RpcResult TaskService::Stats(const std::string& payload) {
  auto req = ParsePayload<v2::StatsRequest>(payload, "Stats");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  auto dir = runtime_.CgroupDir((*found)->key);
  if (!dir) return std::unexpected(ToRpcError(dir.error().Wrapped("Stats")));
  auto metrics = ReadCgroupMetrics(*dir);
  if (!metrics) return std::unexpected(ToRpcError(metrics.error().Wrapped("Stats")));
  v2::StatsResponse reply;
  reply.mutable_stats()->set_type_url(std::string(kCgroupV2MetricsTypeUrl));
  reply.mutable_stats()->set_value(metrics->SerializeAsString());
  return Reply(reply);
}

RpcResult TaskService::Update(const std::string& payload) {
  auto req = ParsePayload<v2::UpdateTaskRequest>(payload, "Update");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  Task& task = **found;
  if (!req->has_resources()) {
    return Fail(Code::kInvalidArgument, "Update: resources: required (linux.resources as JSON)");
  }
  const std::string& type_url = req->resources().type_url();
  if (!type_url.ends_with(kLinuxResourcesType)) {
    return Fail(Code::kInvalidArgument, "Update: resources.type_url: " + Quoted(type_url) +
                                            " is not a " + std::string(kLinuxResourcesType));
  }
  if (task.phase == Phase::kStopped) {
    return Fail(Code::kFailedPrecondition,
                "Update: container " + Quoted(task.key.id) + " has stopped");
  }
  if (auto refused = NeedsCgroup(runtime_.CgroupDir(task.key), "Update", task.key.id)) {
    return std::unexpected(*refused);
  }
  // The annotations are not used: runc's shim ignores them too.
  Status updated = runtime_.Update(task.key, req->resources().value(), "resources");
  if (!updated) return std::unexpected(ToRpcError(updated.error().Wrapped("Update")));
  return Reply(podshim::wire::Empty());
}

RpcResult TaskService::Pause(const std::string& payload) {
  auto req = ParsePayload<v2::PauseRequest>(payload, "Pause");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  Task& task = **found;
  // As runc's shim: only a running task (a created one has not started, a stopped one is gone).
  if (task.phase != Phase::kRunning || task.paused) {
    const char* why = task.paused                     ? " is already paused"
                      : task.phase == Phase::kCreated ? " has not started"
                                                      : " has stopped";
    return Fail(Code::kFailedPrecondition, "Pause: container " + Quoted(task.key.id) + why);
  }
  if (auto refused = NeedsCgroup(runtime_.CgroupDir(task.key), "Pause", task.key.id)) {
    return std::unexpected(*refused);
  }
  Status paused = runtime_.Pause(task.key);
  if (!paused) return std::unexpected(ToRpcError(paused.error().Wrapped("Pause")));
  task.paused = true;
  containerd::events::TaskPaused ev;
  ev.set_container_id(task.key.id);
  Emit("/tasks/paused", "TaskPaused", ev.SerializeAsString());
  return Reply(podshim::wire::Empty());
}

RpcResult TaskService::Resume(const std::string& payload) {
  auto req = ParsePayload<v2::ResumeRequest>(payload, "Resume");
  if (!req) return std::unexpected(req.error());
  Found found = Find(req->id(), "");
  if (!found) return std::unexpected(found.error());
  Task& task = **found;
  if (task.phase != Phase::kRunning || !task.paused) {
    return Fail(Code::kFailedPrecondition,
                "Resume: container " + Quoted(task.key.id) +
                    (task.phase == Phase::kStopped ? " has stopped" : " is not paused"));
  }
  Status resumed = runtime_.Resume(task.key);
  if (!resumed) return std::unexpected(ToRpcError(resumed.error().Wrapped("Resume")));
  task.paused = false;
  containerd::events::TaskResumed ev;
  ev.set_container_id(task.key.id);
  Emit("/tasks/resumed", "TaskResumed", ev.SerializeAsString());
  return Reply(podshim::wire::Empty());
}

}  // namespace podshim::shim::task
