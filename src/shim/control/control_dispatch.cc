#include "shim/control/control_dispatch.h"

#include <chrono>
#include <variant>

namespace podshim::shim::control {

std::optional<std::string> AnswerAtOnce(ControlHandler& handler,
                                        const std::optional<std::string>& id,
                                        const Request& request) {
  if (std::holds_alternative<StatusRequest>(request)) {
    Reply<std::string> r = handler.Status();
    return r ? FormatStatusResponse(id, *r) : FormatError(id, r.error());
  }
  if (std::holds_alternative<StatsRequest>(request)) {
    Reply<StatsResult> r = handler.Stats();
    return r ? FormatStatsResponse(id, *r) : FormatError(id, r.error());
  }
  if (std::holds_alternative<VersionRequest>(request)) {
    return FormatVersionResponse(id, handler.Version());
  }
  if (const auto* stop = std::get_if<StopRequest>(&request)) {
    std::optional<std::chrono::seconds> grace;
    if (stop->grace_seconds) grace = std::chrono::seconds(*stop->grace_seconds);
    Reply<StopResult> r = handler.Stop(grace);
    return r ? FormatStopResponse(id, *r) : FormatError(id, r.error());
  }
  if (const auto* kill = std::get_if<KillRequest>(&request)) {
    Reply<KillResult> r = handler.Kill(kill->container, kill->signal);
    return r ? FormatKillResponse(id, *r) : FormatError(id, r.error());
  }
  if (const auto* restart = std::get_if<RestartRequest>(&request)) {
    Reply<RestartResult> r = handler.Restart(restart->container);
    return r ? FormatRestartResponse(id, *r) : FormatError(id, r.error());
  }
  return std::nullopt;
}

}  // namespace podshim::shim::control
