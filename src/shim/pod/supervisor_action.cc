#include "shim/pod/supervisor_action.h"

#include <type_traits>

#include "signals/signal_names.h"

namespace podshim::shim {
namespace {

std::string DescribeValue(const EventValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          return "null";
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(x);
        } else {
          return x;
        }
      },
      v);
}

}  // namespace

std::string_view TerminationReasonName(TerminationReason reason) {
  switch (reason) {
    case TerminationReason::kSignal:
      return "Signal";
    case TerminationReason::kRequest:
      return "Request";
    case TerminationReason::kCompleted:
      return "Completed";
    case TerminationReason::kFailed:
      return "Failed";
  }
  return "Unknown";
}

const EventValue* PodEvent::Field(std::string_view key) const {
  for (const EventField& f : fields) {
    if (f.key == key) return &f.value;
  }
  return nullptr;
}

std::string DescribeAction(const SupervisorAction& action) {
  return std::visit(
      [](const auto& a) -> std::string {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, LaunchAction>) {
          return "Launch " + a.container + " #" + std::to_string(a.restart_count);
        } else if constexpr (std::is_same_v<T, SignalAction>) {
          return "Signal " + a.container + " " + signals::SignalName(a.signal);
        } else if constexpr (std::is_same_v<T, KillContainerAction>) {
          return "Kill " + a.container;
        } else if constexpr (std::is_same_v<T, StartPostStartAction>) {
          return "PostStart " + a.container;
        } else if constexpr (std::is_same_v<T, StartPreStopAction>) {
          return "PreStop " + a.container;
        } else if constexpr (std::is_same_v<T, EmitAction>) {
          std::string s = "Emit " + a.event.type;
          if (!a.event.container.empty()) s += " " + a.event.container;
          for (const EventField& f : a.event.fields)
            s += " " + f.key + "=" + DescribeValue(f.value);
          return s;
        } else {
          return "PodFinished " + std::string(PodPhaseName(a.phase)) + " (" +
                 std::string(TerminationReasonName(a.reason)) + ")";
        }
      },
      action);
}

}  // namespace podshim::shim
