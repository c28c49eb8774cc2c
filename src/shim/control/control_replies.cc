// The client's side of the control protocol (control_protocol.h): reading a response line and
// the typed results of each command. The shim's side (requests in, responses out) is
// control_protocol.cc.
#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>

#include "shim/control/control_protocol.h"
#include "shim/control/json_text.h"
#include "signals/signal_names.h"

namespace podshim::shim::control {
namespace {

using nlohmann::json;

// An integer field of type T. nlohmann's get<T>() casts a float (5.7e9) or an out-of-range
// integer to T, which is undefined behaviour; anything but an integer that fits throws, and
// ExtractResult turns that into a kInternal error naming the command.
template <class T>
T IntegerField(const json& j, const char* key) {
  const json& v = j.at(key);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (std::in_range<T>(i)) return static_cast<T>(i);
  } else {
    throw std::invalid_argument(std::string(key) + ": not an integer");
  }
  throw std::out_of_range(std::string(key) + ": out of range");
}

UsageCounters CountersFromJson(const json& j) {
  UsageCounters c;
  auto get = [&j](const char* key) -> std::optional<uint64_t> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return IntegerField<uint64_t>(j, key);
  };
  c.cpu_usage_usec = get("cpuUsageUsec");
  c.memory_current = get("memoryCurrent");
  c.pids_current = get("pidsCurrent");
  c.oom_kills = get("oomKills");
  return c;
}

// Runs a typed extraction over result text, turning a parse failure or nlohmann's type errors
// into a kInternal error (the shim sent something this client does not understand).
template <class T, class F>
Reply<T> ExtractResult(std::string_view text, std::string_view what, F&& extract) {
  auto j = ParseObject(text);
  if (!j) {
    return std::unexpected(
        ControlError{ErrorCode::kInternal, std::string(what) + ": result: " + j.error()});
  }
  try {
    return extract(*j);
  } catch (const std::exception& e) {  // nlohmann's type errors; bad_alloc
    return std::unexpected(ControlError{ErrorCode::kInternal, std::string(what) + ": " + e.what()});
  }
}

}  // namespace

Reply<Response> ParseResponse(std::string_view line) {
  auto bad = [](std::string m) {
    return std::unexpected(ControlError{ErrorCode::kInternal, "malformed response: " + m});
  };
  auto j = ParseObject(line);
  if (!j) return bad(j.error());
  Response out;
  if (auto it = j->find("id"); it != j->end()) out.id = Compact(*it);
  auto ok = j->find("ok");
  if (ok == j->end() || !ok->is_boolean()) return bad("\"ok\" must be a boolean");
  if (ok->get<bool>()) {
    auto result = j->find("result");
    if (result == j->end()) return bad("\"result\" is missing");
    out.result = Compact(*result);
    return out;
  }
  auto error = j->find("error");
  if (error == j->end() || !error->is_object()) return bad("\"error\" must be an object");
  auto code = error->find("code");
  auto message = error->find("message");
  if (code == error->end() || !code->is_string() || message == error->end() ||
      !message->is_string()) {
    return bad("\"error\" needs string \"code\" and \"message\"");
  }
  // An unknown code from a newer shim is kept as internal, with the code in the message.
  std::optional<ErrorCode> c = ParseErrorCode(code->get<std::string>());
  std::string m = message->get<std::string>();
  if (!c) m = code->get<std::string>() + ": " + m;
  out.result = std::unexpected(ControlError{c.value_or(ErrorCode::kInternal), std::move(m)});
  return out;
}

Reply<StopResult> ParseStopResult(std::string_view text) {
  return ExtractResult<StopResult>(text, "stop", [](const json& j) -> Reply<StopResult> {
    return StopResult{IntegerField<int64_t>(j, "gracePeriodSeconds"),
                      j.at("alreadyTerminating").get<bool>()};
  });
}

Reply<KillResult> ParseKillResult(std::string_view text) {
  return ExtractResult<KillResult>(text, "kill", [](const json& j) -> Reply<KillResult> {
    auto sig = signals::ParseSignal(j.at("signal").get<std::string>());
    if (!sig) return std::unexpected(ControlError{ErrorCode::kInternal, sig.error().ToString()});
    return KillResult{j.at("container").get<std::string>(), *sig};
  });
}

Reply<ExecResult> ParseExecResult(std::string_view text) {
  return ExtractResult<ExecResult>(text, "exec", [](const json& j) -> Reply<ExecResult> {
    return ExecResult{IntegerField<int>(j, "exitCode"), j.at("stdout").get<std::string>(),
                      j.at("stderr").get<std::string>(), j.at("timedOut").get<bool>()};
  });
}

Reply<StatsResult> ParseStatsResult(std::string_view text) {
  return ExtractResult<StatsResult>(text, "stats", [](const json& j) -> Reply<StatsResult> {
    StatsResult r;
    r.pod = CountersFromJson(j.at("pod"));
    for (const json& c : j.at("containers")) {
      r.containers.push_back(ContainerStats{c.at("name").get<std::string>(),
                                            c.at("role").get<std::string>(), CountersFromJson(c),
                                            IntegerField<int>(c, "restartCount")});
    }
    return r;
  });
}

Reply<VersionResult> ParseVersionResult(std::string_view text) {
  return ExtractResult<VersionResult>(text, "version", [](const json& j) -> Reply<VersionResult> {
    return VersionResult{j.at("version").get<std::string>(), j.at("commit").get<std::string>(),
                         IntegerField<int64_t>(j, "pid"), IntegerField<int64_t>(j, "handovers")};
  });
}

Reply<UpgradeResult> ParseUpgradeResult(std::string_view text) {
  return ExtractResult<UpgradeResult>(text, "upgrade", [](const json& j) -> Reply<UpgradeResult> {
    return UpgradeResult{j.at("binary").get<std::string>(), j.at("from").get<std::string>(),
                         j.at("to").get<std::string>(), IntegerField<int64_t>(j, "pid"),
                         IntegerField<int64_t>(j, "handovers")};
  });
}

Reply<EventsStreamItem> ParseEventsStreamItem(std::string_view text) {
  return ExtractResult<EventsStreamItem>(
      text, "events", [](const json& j) -> Reply<EventsStreamItem> {
        EventsStreamItem item;
        if (j.contains("end")) {
          item.next_seq = IntegerField<uint64_t>(j, "nextSeq");
          item.pod_finished = j.at("podFinished").get<bool>();
          return item;
        }
        item.event = EventRecord{IntegerField<uint64_t>(j, "seq"), Compact(j.at("event"))};
        return item;
      });
}

}  // namespace podshim::shim::control
