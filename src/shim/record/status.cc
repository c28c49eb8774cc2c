#include "shim/record/status.h"

#include <nlohmann/json.hpp>

#include "common/sys.h"
#include "common/time_format.h"

namespace podshim::shim {
namespace {

using Json = nlohmann::ordered_json;

// {"waiting": {...}} | {"running": {...}} | {"terminated": {...}}, as Kubernetes writes it.
Json StateJson(const StateSnapshot& s) {
  Json inner = Json::object();
  switch (s.kind) {
    case StateSnapshot::Kind::kWaiting:
      if (!s.reason.empty()) inner["reason"] = s.reason;
      if (!s.message.empty()) inner["message"] = s.message;
      return Json{{"waiting", inner}};
    case StateSnapshot::Kind::kRunning:
      if (s.started_at) inner["startedAt"] = FormatRfc3339Nano(*s.started_at);
      return Json{{"running", inner}};
    case StateSnapshot::Kind::kTerminated:
      // null: the exit status is unknown (ContainerStatusUnknown), never a made-up code.
      inner["exitCode"] = s.exit_code ? Json(*s.exit_code) : Json(nullptr);
      if (s.signal) inner["signal"] = *s.signal;
      if (!s.reason.empty()) inner["reason"] = s.reason;
      if (!s.message.empty()) inner["message"] = s.message;
      inner["startedAt"] = s.started_at ? Json(FormatRfc3339Nano(*s.started_at)) : Json(nullptr);
      inner["finishedAt"] = s.finished_at ? Json(FormatRfc3339Nano(*s.finished_at)) : Json(nullptr);
      return Json{{"terminated", inner}};
  }
  return Json::object();
}

Json ContainerJson(const ContainerSnapshot& c) {
  Json j;
  j["name"] = c.name;
  j["role"] = std::string(ContainerRoleName(c.role));
  j["state"] = StateJson(c.state);
  j["lastState"] = c.last_state ? StateJson(*c.last_state) : Json::object();
  j["ready"] = c.ready;
  j["started"] = c.started;
  j["restartCount"] = c.restart_count;
  j["pid"] = c.pid ? Json(*c.pid) : Json(nullptr);
  return j;
}

}  // namespace

std::string PodStatusJson(const PodSnapshot& pod, const PodStatusContext& context) {
  Json j;
  j["name"] = pod.pod_name;
  j["phase"] = std::string(PodPhaseName(pod.phase));
  j["ready"] = pod.ready;
  j["initialized"] = pod.initialized;
  j["terminating"] = pod.terminating;
  j["qosClass"] = context.qos_class;
  j["cgroup"] = context.cgroup;
  Json inits = Json::array();
  Json apps = Json::array();
  for (const ContainerSnapshot& c : pod.containers) {
    (c.role == Role::kApp ? apps : inits).push_back(ContainerJson(c));
  }
  j["initContainerStatuses"] = std::move(inits);
  j["containerStatuses"] = std::move(apps);
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Status WritePodStatus(const std::filesystem::path& path, const PodSnapshot& pod,
                      const PodStatusContext& context) {
  return sys::WriteFileAtomic(path, PodStatusJson(pod, context));
}

}  // namespace podshim::shim
