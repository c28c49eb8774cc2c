#include "shim/pod/supervisor_input.h"

#include <array>
#include <utility>

namespace podshim::shim {
namespace {

using Kind = SupervisorInput::Kind;

constexpr std::array<std::pair<Kind, std::string_view>, 12> kNames = {{
    {Kind::kStart, "Start"},
    {Kind::kStarted, "Started"},
    {Kind::kStartFailed, "StartFailed"},
    {Kind::kExited, "Exited"},
    {Kind::kStartupSucceeded, "StartupSucceeded"},
    {Kind::kReadinessChanged, "ReadinessChanged"},
    {Kind::kPostStartFinished, "PostStartFinished"},
    {Kind::kProbeKill, "ProbeKill"},
    {Kind::kRestartRequest, "RestartRequest"},
    {Kind::kPreStopFinished, "PreStopFinished"},
    {Kind::kStopRequest, "StopRequest"},
    {Kind::kDeadline, "Deadline"},
}};

}  // namespace

std::string_view SupervisorInputName(Kind kind) {
  for (const auto& [k, name] : kNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<Kind> ParseSupervisorInputName(std::string_view name) {
  for (const auto& [k, n] : kNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

Status ApplyInput(Supervisor& sup, const SupervisorInput& in) {
  switch (in.kind) {
    case Kind::kStart:
      return sup.Start();
    case Kind::kStarted:
      return sup.OnContainerStarted(in.container, in.pid);
    case Kind::kStartFailed:
      return sup.OnStartFailed(in.container, in.message);
    case Kind::kExited:
      return sup.OnContainerExited(in.container, in.exit);
    case Kind::kStartupSucceeded:
      return sup.OnStartupSucceeded(in.container);
    case Kind::kReadinessChanged:
      return sup.OnReadinessChanged(in.container, in.flag);
    case Kind::kPostStartFinished:
      return sup.OnPostStartFinished(in.container, in.flag);
    case Kind::kProbeKill:
      return sup.OnProbeKill(in.container, in.grace);
    case Kind::kRestartRequest:
      return sup.OnRestartRequest(in.container);
    case Kind::kPreStopFinished:
      return sup.OnPreStopFinished(in.container);
    case Kind::kStopRequest:
      sup.OnStopRequest(in.reason, in.grace);
      return Ok();
    case Kind::kDeadline:
      sup.OnDeadline();
      return Ok();
  }
  return Error::Invalid("unknown supervisor input");
}

}  // namespace podshim::shim
