#include "shim/control/control_protocol.h"

#include <unistd.h>

#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/quoted.h"
#include "common/version.h"
#include "shim/control/json_text.h"
#include "signals/signal_names.h"

namespace podshim::shim::control {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<ErrorCode, std::string_view>, 7> kErrorNames = {{
    {ErrorCode::kBadRequest, "bad_request"},
    {ErrorCode::kUnknownCommand, "unknown_command"},
    {ErrorCode::kUnknownContainer, "unknown_container"},
    {ErrorCode::kTooLarge, "too_large"},
    {ErrorCode::kPermissionDenied, "permission_denied"},
    {ErrorCode::kUnavailable, "unavailable"},
    {ErrorCode::kInternal, "internal"},
}};

ControlError Bad(std::string message) { return {ErrorCode::kBadRequest, std::move(message)}; }

// The fields a command accepts besides "command" and "id"; anything else is an error, so a typo
// never silently changes what a request does.
Reply<void> CheckFields(const json& j, std::string_view command,
                        std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : j.items()) {
    if (key == "command" || key == "id") continue;
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) {
      return std::unexpected(Bad(std::string(command) + ": unknown field " + Quoted(key)));
    }
  }
  return {};
}

Reply<std::string> RequiredString(const json& j, std::string_view command, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) {
    return std::unexpected(Bad(std::string(command) + ": \"" + field + "\" is required"));
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return std::unexpected(
        Bad(std::string(command) + ": \"" + field + "\" must be a non-empty string"));
  }
  return it->get<std::string>();
}

// An optional integer field in [min, max].
Reply<std::optional<int64_t>> OptionalInt(const json& j, std::string_view command,
                                          const char* field, int64_t min, int64_t max) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) {
    return std::unexpected(Bad(std::string(command) + ": \"" + field + "\" must be an integer"));
  }
  // A huge unsigned value does not fit int64: compare as unsigned first.
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::unexpected(Bad(std::string(command) + ": \"" + field + "\" is out of range"));
  }
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    return std::unexpected(Bad(std::string(command) + ": \"" + field + "\" must be between " +
                               std::to_string(min) + " and " + std::to_string(max)));
  }
  return std::optional<int64_t>(v);
}

Reply<bool> OptionalBool(const json& j, std::string_view command, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return std::unexpected(Bad(std::string(command) + ": \"" + field + "\" must be a boolean"));
  }
  return it->get<bool>();
}

Reply<int> ParseSignalField(const json& j) {
  auto it = j.find("signal");
  if (it == j.end() || it->is_null()) return 15;  // SIGTERM
  std::string text;
  if (it->is_number_integer()) {
    text = it->dump();
  } else if (it->is_string()) {
    text = it->get<std::string>();
  } else {
    return std::unexpected(Bad("kill: \"signal\" must be a signal name or number"));
  }
  auto sig = signals::ParseSignal(text);
  if (!sig) return std::unexpected(Bad("kill: \"signal\": " + sig.error().ToString()));
  return *sig;
}

// The typed extraction of one request; may throw nlohmann's type errors, which ParseRequest
// catches (the checks above make that unlikely, the catch makes it impossible to escape).
Reply<Request> ExtractRequest(const json& j) {
  auto cmd_it = j.find("command");
  if (cmd_it == j.end()) return std::unexpected(Bad("\"command\" is required"));
  if (!cmd_it->is_string()) return std::unexpected(Bad("\"command\" must be a string"));
  const std::string& command = cmd_it->get_ref<const std::string&>();

#define CONTROL_TRY(expr)                                                       \
  ({                                                                            \
    auto control_try_ = (expr);                                                 \
    if (!control_try_) return std::unexpected(std::move(control_try_).error()); \
    std::move(control_try_).value();                                            \
  })

  if (command == "status") {
    CONTROL_TRY(CheckFields(j, command, {}));
    return StatusRequest{};
  }
  if (command == "stats") {
    CONTROL_TRY(CheckFields(j, command, {}));
    return StatsRequest{};
  }
  if (command == "version") {
    CONTROL_TRY(CheckFields(j, command, {}));
    return VersionRequest{};
  }
  if (command == "upgrade") {
    CONTROL_TRY(CheckFields(j, command, {"binary"}));
    return UpgradeRequest{CONTROL_TRY(RequiredString(j, command, "binary"))};
  }
  if (command == "events") {
    CONTROL_TRY(CheckFields(j, command, {"fromSeq", "follow"}));
    EventsRequest r;
    auto from =
        CONTROL_TRY(OptionalInt(j, command, "fromSeq", 0, std::numeric_limits<int64_t>::max()));
    r.from_seq = from ? static_cast<uint64_t>(std::max<int64_t>(*from, 1)) : 1;
    r.follow = CONTROL_TRY(OptionalBool(j, command, "follow"));
    return r;
  }
  if (command == "stop") {
    CONTROL_TRY(CheckFields(j, command, {"graceSeconds"}));
    StopRequest r;
    r.grace_seconds = CONTROL_TRY(OptionalInt(j, command, "graceSeconds", 0, 1LL << 40));
    return r;
  }
  if (command == "kill") {
    CONTROL_TRY(CheckFields(j, command, {"container", "signal"}));
    KillRequest r;
    r.container = CONTROL_TRY(RequiredString(j, command, "container"));
    r.signal = CONTROL_TRY(ParseSignalField(j));
    return r;
  }
  if (command == "restart") {
    CONTROL_TRY(CheckFields(j, command, {"container"}));
    return RestartRequest{CONTROL_TRY(RequiredString(j, command, "container"))};
  }
  if (command == "exec") {
    CONTROL_TRY(CheckFields(j, command, {"container", "argv", "timeoutSeconds"}));
    ExecRequest r;
    r.container = CONTROL_TRY(RequiredString(j, command, "container"));
    auto argv = j.find("argv");
    if (argv == j.end()) return std::unexpected(Bad("exec: \"argv\" is required"));
    if (!argv->is_array() || argv->empty()) {
      return std::unexpected(Bad("exec: \"argv\" must be a non-empty array of strings"));
    }
    for (std::size_t i = 0; i < argv->size(); ++i) {
      const json& a = (*argv)[i];
      if (!a.is_string()) {
        return std::unexpected(Bad("exec: \"argv\"[" + std::to_string(i) + "] must be a string"));
      }
      r.argv.push_back(a.get<std::string>());
    }
    if (r.argv[0].empty()) return std::unexpected(Bad("exec: \"argv\"[0] must not be empty"));
    r.timeout_seconds = CONTROL_TRY(OptionalInt(j, command, "timeoutSeconds", 1, 86400));
    return r;
  }
#undef CONTROL_TRY
  std::string shown = command.size() > 64 ? command.substr(0, 64) + "..." : command;
  return std::unexpected(
      ControlError{ErrorCode::kUnknownCommand, "unknown command " + Quoted(shown)});
}

// {"ok":true,"result":<result>} (+ the id), as one line.
std::string Ok(const std::optional<std::string>& id, const json& result) {
  // The id is already compact JSON text; splice it so that it round-trips exactly.
  std::string out = "{";
  if (id) out += "\"id\":" + *id + ",";
  out += "\"ok\":true,\"result\":" + result.dump(-1, ' ', false, json::error_handler_t::replace);
  out += "}";
  return out;
}

json CountersJson(const UsageCounters& c) {
  json j = json::object();
  auto put = [&j](const char* key, const std::optional<uint64_t>& v) {
    j[key] = v ? json(*v) : json(nullptr);
  };
  put("cpuUsageUsec", c.cpu_usage_usec);
  put("memoryCurrent", c.memory_current);
  put("pidsCurrent", c.pids_current);
  put("oomKills", c.oom_kills);
  return j;
}

}  // namespace

std::string_view ErrorCodeName(ErrorCode code) {
  for (const auto& [c, name] : kErrorNames) {
    if (c == code) return name;
  }
  return "internal";
}

std::optional<ErrorCode> ParseErrorCode(std::string_view name) {
  for (const auto& [c, n] : kErrorNames) {
    if (n == name) return c;
  }
  return std::nullopt;
}

std::string_view CommandName(const Request& request) {
  struct Visitor {
    std::string_view operator()(const StatusRequest&) const { return "status"; }
    std::string_view operator()(const EventsRequest&) const { return "events"; }
    std::string_view operator()(const StopRequest&) const { return "stop"; }
    std::string_view operator()(const KillRequest&) const { return "kill"; }
    std::string_view operator()(const RestartRequest&) const { return "restart"; }
    std::string_view operator()(const ExecRequest&) const { return "exec"; }
    std::string_view operator()(const StatsRequest&) const { return "stats"; }
    std::string_view operator()(const UpgradeRequest&) const { return "upgrade"; }
    std::string_view operator()(const VersionRequest&) const { return "version"; }
  };
  return std::visit(Visitor{}, request);
}

ParsedRequest ParseRequest(std::string_view line) {
  ParsedRequest out;
  // The two bounds come first, on the raw text: the parsed value then holds at most a small
  // multiple of the line's size, and nothing walks it deeper than kMaxRequestDepth.
  if (line.size() > kMaxRequestBytes) {
    out.request = std::unexpected(ControlError{
        ErrorCode::kTooLarge, "request is " + std::to_string(line.size()) +
                                  " bytes; the limit is " + std::to_string(kMaxRequestBytes)});
    return out;
  }
  if (NestsDeeperThan(line, kMaxRequestDepth)) {
    out.request = std::unexpected(Bad("request " + TooDeep()));
    return out;
  }
  try {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      out.request = std::unexpected(Bad("request is not valid JSON"));
      return out;
    }
    if (!j.is_object()) {
      out.request = std::unexpected(Bad("request must be a JSON object"));
      return out;
    }
    if (auto it = j.find("id"); it != j.end()) out.id = Compact(*it);
    out.request = ExtractRequest(j);
  } catch (const json::exception& e) {
    out.request = std::unexpected(Bad(std::string("malformed request: ") + e.what()));
  } catch (const std::exception& e) {  // bad_alloc: answer, do not take the shim down
    out.id.reset();
    out.request = std::unexpected(ControlError{ErrorCode::kInternal, e.what()});
  }
  return out;
}

std::string FormatRequest(const Request& request) {
  json j = json::object();
  j["command"] = std::string(CommandName(request));
  if (const auto* r = std::get_if<EventsRequest>(&request)) {
    j["fromSeq"] = r->from_seq;
    j["follow"] = r->follow;
  } else if (const auto* r = std::get_if<StopRequest>(&request)) {
    if (r->grace_seconds) j["graceSeconds"] = *r->grace_seconds;
  } else if (const auto* r = std::get_if<KillRequest>(&request)) {
    j["container"] = r->container;
    j["signal"] = signals::SignalName(r->signal);
  } else if (const auto* r = std::get_if<RestartRequest>(&request)) {
    j["container"] = r->container;
  } else if (const auto* r = std::get_if<ExecRequest>(&request)) {
    j["container"] = r->container;
    j["argv"] = r->argv;
    if (r->timeout_seconds) j["timeoutSeconds"] = *r->timeout_seconds;
  } else if (const auto* r = std::get_if<UpgradeRequest>(&request)) {
    j["binary"] = r->binary;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string FormatError(const std::optional<std::string>& id, const ControlError& error) {
  json e = {{"code", std::string(ErrorCodeName(error.code))}, {"message", error.message}};
  std::string out = "{";
  if (id) out += "\"id\":" + *id + ",";
  out += "\"ok\":false,\"error\":" + e.dump(-1, ' ', false, json::error_handler_t::replace);
  out += "}";
  return out;
}

std::string FormatStatusResponse(const std::optional<std::string>& id,
                                 std::string_view status_json) {
  // ordered_json keeps the key order of status.json (phase first, as Kubernetes prints it).
  if (NestsDeeperThan(status_json, kMaxRequestDepth)) {
    return FormatError(id, {ErrorCode::kInternal, "the pod status " + TooDeep()});
  }
  auto j = nlohmann::ordered_json::parse(status_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return FormatError(id, {ErrorCode::kInternal, "the pod status is not a JSON object"});
  }
  std::string out = "{";
  if (id) out += "\"id\":" + *id + ",";
  out += "\"ok\":true,\"result\":" +
         j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "}";
  return out;
}

std::string FormatStopResponse(const std::optional<std::string>& id, const StopResult& r) {
  return Ok(id, json{{"gracePeriodSeconds", r.grace_period_seconds},
                     {"alreadyTerminating", r.already_terminating}});
}

std::string FormatKillResponse(const std::optional<std::string>& id, const KillResult& r) {
  return Ok(id, json{{"container", r.container}, {"signal", signals::SignalName(r.signal)}});
}

std::string FormatRestartResponse(const std::optional<std::string>& id, const RestartResult& r) {
  return Ok(id, json{{"container", r.container}});
}

std::string FormatExecResponse(const std::optional<std::string>& id, const ExecResult& r) {
  // Output that is not UTF-8 is sent with U+FFFD in place of the bad bytes (dump's replace).
  return Ok(id, json{{"exitCode", r.exit_code},
                     {"stdout", r.stdout_text},
                     {"stderr", r.stderr_text},
                     {"timedOut", r.timed_out}});
}

std::string FormatStatsResponse(const std::optional<std::string>& id, const StatsResult& r) {
  json containers = json::array();
  for (const ContainerStats& c : r.containers) {
    json cj = CountersJson(c.usage);
    cj["name"] = c.name;
    cj["role"] = c.role;
    cj["restartCount"] = c.restart_count;
    containers.push_back(std::move(cj));
  }
  return Ok(id, json{{"pod", CountersJson(r.pod)}, {"containers", std::move(containers)}});
}

VersionResult CurrentVersion() {
  return {std::string(ProjectVersion()), std::string(BuildCommit()), ::getpid(), 0};
}

std::string FormatVersionResponse(const std::optional<std::string>& id, const VersionResult& r) {
  return Ok(id, json{{"version", r.version},
                     {"commit", r.commit},
                     {"pid", r.pid},
                     {"handovers", r.handovers}});
}

std::string FormatUpgradeResponse(const std::optional<std::string>& id, const UpgradeResult& r) {
  return Ok(id, json{{"binary", r.binary},
                     {"from", r.from},
                     {"to", r.to},
                     {"pid", r.pid},
                     {"handovers", r.handovers}});
}

std::string FormatEventResponse(const std::optional<std::string>& id, const EventRecord& e) {
  std::string out = "{";
  if (id) out += "\"id\":" + *id + ",";
  out += "\"ok\":true,\"result\":{\"seq\":" + std::to_string(e.seq) + ",\"event\":" + e.json + "}}";
  return out;
}

std::string FormatEventsEnd(const std::optional<std::string>& id, uint64_t next_seq,
                            bool pod_finished) {
  return Ok(id, json{{"end", true}, {"nextSeq", next_seq}, {"podFinished", pod_finished}});
}

}  // namespace podshim::shim::control
