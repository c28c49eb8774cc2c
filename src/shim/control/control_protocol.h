// The control API's wire format (docs/control-api.md): one JSON object per line over the shim's
// Unix socket. Requests name a `command`; every response has `ok` and either `result` or
// `error` {code, message}. Pure: typed requests and results <-> JSON text, no I/O. nlohmann-json
// is confined to control_protocol.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace podshim::shim::control {

// A request line longer than this (without its newline) is refused with kTooLarge.
inline constexpr std::size_t kMaxRequestBytes = 1 << 20;
// A request (or a response, on the client side) nesting arrays and objects deeper than this is
// refused before it is parsed: the request object itself is level 1, so an `id` or a field may
// nest kMaxRequestDepth - 1 levels. Every JSON walk (parse, dump of the echoed id) stays shallow.
inline constexpr std::size_t kMaxRequestDepth = 64;

enum class ErrorCode {
  kBadRequest,        // "bad_request": not JSON, not an object, a field missing or mistyped
  kUnknownCommand,    // "unknown_command"
  kUnknownContainer,  // "unknown_container"
  kTooLarge,          // "too_large": a request line over kMaxRequestBytes
  kPermissionDenied,  // "permission_denied": the peer's uid is neither 0 nor the shim's
  kUnavailable,       // "unavailable": valid, but not now (e.g. restart while terminating)
  kInternal,          // "internal"
};
std::string_view ErrorCodeName(ErrorCode code);
std::optional<ErrorCode> ParseErrorCode(std::string_view name);

struct ControlError {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  bool operator==(const ControlError&) const = default;
};

// Results and errors of requests: std::expected, since ControlError is not a podshim::Error.
template <class T>
using Reply = std::expected<T, ControlError>;

struct StatusRequest {
  bool operator==(const StatusRequest&) const = default;
};
struct EventsRequest {
  uint64_t from_seq = 1;  // sequence numbers start at 1; 0 is read as 1
  bool follow = false;    // after the replay, stream new events until the pod finishes
  bool operator==(const EventsRequest&) const = default;
};
struct StopRequest {
  std::optional<int64_t> grace_seconds;  // may only shorten the pod's grace period; >= 0
  bool operator==(const StopRequest&) const = default;
};
struct KillRequest {
  std::string container;
  int signal = 15;  // the wire takes a name ("SIGKILL", "KILL") or a number; default SIGTERM
  bool operator==(const KillRequest&) const = default;
};
struct RestartRequest {
  std::string container;
  bool operator==(const RestartRequest&) const = default;
};
struct ExecRequest {
  std::string container;
  std::vector<std::string> argv;           // non-empty
  std::optional<int64_t> timeout_seconds;  // > 0; none: the handler's default
  bool operator==(const ExecRequest&) const = default;
};
struct StatsRequest {
  bool operator==(const StatsRequest&) const = default;
};
// Re-execute the shim with the binary at `binary` (absolute; checked by the shim), in place.
struct UpgradeRequest {
  std::string binary;
  bool operator==(const UpgradeRequest&) const = default;
};
// The running shim's version (what `ctl upgrade` polls for after the hand-over).
struct VersionRequest {
  bool operator==(const VersionRequest&) const = default;
};

using Request = std::variant<StatusRequest, EventsRequest, StopRequest, KillRequest, RestartRequest,
                             ExecRequest, StatsRequest, UpgradeRequest, VersionRequest>;

// The command name of a request: "status", "events", ...
std::string_view CommandName(const Request& request);

// A request line as parsed: the request, or the error to answer with. `id`, when the client
// sent one (any JSON value, kept as compact JSON text), is echoed in every response line.
struct ParsedRequest {
  std::optional<std::string> id;
  Reply<Request> request;
};

// Parses one request line (without its newline). Never fails as a function: a bad line gives
// an error naming the field (`kill: "signal": unknown signal "SIGFOO"`).
ParsedRequest ParseRequest(std::string_view line);

// Formats a request as one line (no newline); what `podshim ctl` sends.
std::string FormatRequest(const Request& request);

// --- Results -------------------------------------------------------------------------------

struct StopResult {
  int64_t grace_period_seconds = 0;  // the grace period the termination now runs with
  bool already_terminating = false;
  bool operator==(const StopResult&) const = default;
};

struct KillResult {
  std::string container;
  int signal = 0;
  bool operator==(const KillResult&) const = default;
};

struct RestartResult {
  std::string container;
  bool operator==(const RestartResult&) const = default;
};

struct ExecResult {
  int exit_code = 0;  // 128+N after signal N
  std::string stdout_text;
  std::string stderr_text;
  bool timed_out = false;  // killed at the timeout; exit_code is then 128+SIGKILL
  bool operator==(const ExecResult&) const = default;
};

// Counters read from a cgroup; nullopt where the controller or the file is not available.
struct UsageCounters {
  std::optional<uint64_t> cpu_usage_usec;  // cpu.stat usage_usec
  std::optional<uint64_t> memory_current;  // memory.current, bytes
  std::optional<uint64_t> pids_current;    // pids.current
  std::optional<uint64_t> oom_kills;       // memory.events oom_kill
  bool operator==(const UsageCounters&) const = default;
};

struct ContainerStats {
  std::string name;
  std::string role;  // init | sidecar | app
  UsageCounters usage;
  int restart_count = 0;
  bool operator==(const ContainerStats&) const = default;
};

struct StatsResult {
  UsageCounters pod;
  std::vector<ContainerStats> containers;
  bool operator==(const StatsResult&) const = default;
};

// One event of <state-dir>/events.jsonl and its sequence number (its 1-based line number).
struct EventRecord {
  uint64_t seq = 0;
  std::string json;  // the event object as EventToJsonLine wrote it, without the newline
};

// The version of the binary a shim runs, and its pid.
struct VersionResult {
  std::string version;
  std::string commit;
  int64_t pid = 0;
  int64_t handovers = 0;  // upgrades in place this process went through
  bool operator==(const VersionResult&) const = default;
};
// This process's VersionResult (common/version.h, getpid()).
VersionResult CurrentVersion();

// An accepted upgrade: the shim re-executes `binary` (which answered `version` with `to`) once
// this reply is written.
struct UpgradeResult {
  std::string binary;
  std::string from;       // the running binary's version
  std::string to;         // the first line of `<binary> version`
  int64_t pid = 0;        // the shim's pid, which the new binary keeps
  int64_t handovers = 0;  // what `version` answers once the new binary runs
  bool operator==(const UpgradeResult&) const = default;
};

// --- Response lines (each without the newline) ----------------------------------------------

// {"ok":false,"error":{"code":..,"message":..}}
std::string FormatError(const std::optional<std::string>& id, const ControlError& error);
// status: `status_json` is the status.json text (any formatting); it is compacted. Text that is
// not a JSON object gives an internal error line instead.
std::string FormatStatusResponse(const std::optional<std::string>& id,
                                 std::string_view status_json);
std::string FormatStopResponse(const std::optional<std::string>& id, const StopResult& r);
std::string FormatKillResponse(const std::optional<std::string>& id, const KillResult& r);
std::string FormatRestartResponse(const std::optional<std::string>& id, const RestartResult& r);
std::string FormatExecResponse(const std::optional<std::string>& id, const ExecResult& r);
std::string FormatStatsResponse(const std::optional<std::string>& id, const StatsResult& r);
std::string FormatVersionResponse(const std::optional<std::string>& id, const VersionResult& r);
std::string FormatUpgradeResponse(const std::optional<std::string>& id, const UpgradeResult& r);
// One streamed event: {"ok":true,"result":{"seq":N,"event":{...}}}. The event text is spliced
// in as it is (it is our own EventToJsonLine output).
std::string FormatEventResponse(const std::optional<std::string>& id, const EventRecord& e);
// The end of an events stream: {"ok":true,"result":{"end":true,"nextSeq":N,"podFinished":b}}.
std::string FormatEventsEnd(const std::optional<std::string>& id, uint64_t next_seq,
                            bool pod_finished);

// --- Parsing responses (the client side: podshim ctl, tests) --------------------------------

// A response line split into its parts. `result` is compact JSON text (for the caller to
// parse with the typed parsers below or print as it is).
struct Response {
  std::optional<std::string> id;
  Reply<std::string> result;
};
// A line that is not a well-formed response is a kInternal error naming what is wrong.
Reply<Response> ParseResponse(std::string_view line);

Reply<StopResult> ParseStopResult(std::string_view result_json);
Reply<KillResult> ParseKillResult(std::string_view result_json);
Reply<ExecResult> ParseExecResult(std::string_view result_json);
Reply<StatsResult> ParseStatsResult(std::string_view result_json);
Reply<VersionResult> ParseVersionResult(std::string_view result_json);
Reply<UpgradeResult> ParseUpgradeResult(std::string_view result_json);

// An events stream line's result: an event, or the end marker.
struct EventsStreamItem {
  std::optional<EventRecord> event;  // set for an event line
  uint64_t next_seq = 0;             // set for the end line
  bool pod_finished = false;
};
Reply<EventsStreamItem> ParseEventsStreamItem(std::string_view result_json);

}  // namespace podshim::shim::control
