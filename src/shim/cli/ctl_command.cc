// podshim ctl --socket PATH [--json] CMD ...: one request to a running shim over its control
// socket (docs/control-api.md), printed human-readable or, with --json, as the raw response
// lines. Exit status: 0 ok, 1 the shim answered with an error or cannot be reached, 2 bad usage;
// `exec` exits with the command's own exit status.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "common/quoted.h"
#include "common/sys.h"
#include "common/unique_fd.h"
#include "shim/cli/commands.h"
#include "shim/cli/ctl_format.h"
#include "shim/control/control_client.h"
#include "shim/control/control_protocol.h"
#include "shim/manifest/manifest.h"
#include "shim/record/exit_records.h"
#include "shim/record/shim_lock.h"
#include "signals/signal_names.h"

namespace podshim::shim {
namespace {

using namespace control;  // NOLINT(google-build-using-namespace): this file is the client

constexpr const char kUsage[] =
    "usage: podshim ctl --socket PATH [--json] COMMAND\n"
    "  status                              the pod status\n"
    "  events [--from N] [--follow]        the pod's events (from sequence number N)\n"
    "  stop [--grace SECONDS]              terminate the pod (the grace period may only shrink)\n"
    "  kill CONTAINER [--signal SIG]       signal a container's main process (default SIGTERM)\n"
    "  restart CONTAINER                   kill and start a container again\n"
    "  exec CONTAINER [--timeout S] -- CMD...   run a command in a container\n"
    "  stats                               cpu, memory, pids, OOM kills and restarts\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "podshim ctl: %s\n%s", message.c_str(), kUsage);
  return 2;
}

std::string Lower(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// Splits "--opt=value"; `value` is empty when there is no '='.
bool IsOpt(std::string_view arg, std::string_view name, std::optional<std::string>& inline_value) {
  if (arg == name) return true;
  if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
    inline_value = std::string(arg.substr(name.size() + 1));
    return true;
  }
  return false;
}

// A grace above the manifest's longest duration cannot shrink the pod's, so it is clamped there
// (the control protocol refuses values above 2^40 seconds).
std::optional<int64_t> ParseSeconds(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && p == text.data() + text.size() && v >= 0) {
    return std::min(v, kMaxManifestSeconds.count());
  }
  if (ec == std::errc::result_out_of_range && p == text.data() + text.size() &&
      text.find_first_not_of("0123456789") == std::string_view::npos) {
    return kMaxManifestSeconds.count();  // all digits, beyond int64
  }
  // Also a kubelet-style duration ("30s", "1m"), rounded down to whole seconds.
  auto d = ParseDuration(text);
  if (!d) return std::nullopt;
  return std::min(std::chrono::duration_cast<std::chrono::seconds>(*d), kMaxManifestSeconds)
      .count();
}

struct Invocation {
  std::string socket;
  bool json = false;
  Request request;
};

// Parses everything after "ctl". Returns nullopt after printing a usage error.
std::optional<Invocation> ParseArgs(int argc, char** argv, int& status) {
  Invocation inv;
  int i = 1;
  std::vector<std::string_view> args(argv, argv + argc);
  // Global options, before the command.
  for (; i < argc && args[i].starts_with("--"); ++i) {
    std::optional<std::string> v;
    if (IsOpt(args[i], "--socket", v)) {
      if (!v) {
        if (++i >= argc) return status = Usage("--socket needs a path"), std::nullopt;
        v = std::string(args[i]);
      }
      inv.socket = *v;
    } else if (args[i] == "--json") {
      inv.json = true;
    } else if (args[i] == "--help") {
      std::fputs(kUsage, stdout);
      return status = 0, std::nullopt;
    } else {
      return status = Usage("unknown option " + Quoted(args[i])), std::nullopt;
    }
  }
  if (inv.socket.empty()) return status = Usage("--socket PATH is required"), std::nullopt;
  if (i >= argc) return status = Usage("missing command"), std::nullopt;
  std::string_view cmd = args[i++];

  // The command's own options and positionals; "--" ends options (exec's command follows).
  std::vector<std::string> positional;
  std::vector<std::string> after_dashes;
  std::optional<std::string> from, grace, signal, timeout;
  bool follow = false, dashes = false;
  for (; i < argc; ++i) {
    std::string_view a = args[i];
    if (dashes) {
      after_dashes.emplace_back(a);
      continue;
    }
    if (a == "--") {
      dashes = true;
      continue;
    }
    auto take = [&](std::string_view name, std::optional<std::string>& out) {
      std::optional<std::string> v;
      if (!IsOpt(a, name, v)) return false;
      if (!v) {
        if (i + 1 >= argc) return (out = std::string()), true;
        v = std::string(args[++i]);
      }
      out = *v;
      return true;
    };
    if (a == "--follow" && cmd == "events") {
      follow = true;
    } else if (a == "--json") {
      inv.json = true;
    } else if ((cmd == "events" && take("--from", from)) ||
               (cmd == "stop" && take("--grace", grace)) ||
               (cmd == "kill" && take("--signal", signal)) ||
               (cmd == "exec" && take("--timeout", timeout))) {
    } else if (a.starts_with("--")) {
      return status = Usage(std::string(cmd) + ": unknown option " + Quoted(a)), std::nullopt;
    } else {
      positional.emplace_back(a);
    }
  }
  auto need_container = [&]() -> std::optional<std::string> {
    if (positional.size() != 1) return std::nullopt;
    return positional[0];
  };
  if (cmd == "status" || cmd == "stats") {
    if (!positional.empty() || dashes)
      return status = Usage(std::string(cmd) + " takes no arguments"), std::nullopt;
    inv.request = cmd == "status" ? Request(StatusRequest{}) : Request(StatsRequest{});
  } else if (cmd == "events") {
    if (!positional.empty()) return status = Usage("events takes no arguments"), std::nullopt;
    EventsRequest r;
    r.follow = follow;
    if (from) {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(from->data(), from->data() + from->size(), n);
      if (ec != std::errc() || p != from->data() + from->size()) {
        return status = Usage("events: --from needs a sequence number, not " + Quoted(*from)),
               std::nullopt;
      }
      r.from_seq = std::max<uint64_t>(n, 1);
    }
    inv.request = r;
  } else if (cmd == "stop") {
    if (!positional.empty()) return status = Usage("stop takes no arguments"), std::nullopt;
    StopRequest r;
    if (grace) {
      r.grace_seconds = ParseSeconds(*grace);
      if (!r.grace_seconds) {
        return status = Usage("stop: --grace needs seconds, not " + Quoted(*grace)), std::nullopt;
      }
    }
    inv.request = r;
  } else if (cmd == "kill") {
    auto c = need_container();
    if (!c) return status = Usage("kill needs exactly one CONTAINER"), std::nullopt;
    KillRequest r{*c, 15};
    if (signal) {
      auto sig = signals::ParseSignal(*signal);
      if (!sig) return status = Usage("kill: --signal: " + sig.error().ToString()), std::nullopt;
      r.signal = *sig;
    }
    inv.request = r;
  } else if (cmd == "restart") {
    auto c = need_container();
    if (!c) return status = Usage("restart needs exactly one CONTAINER"), std::nullopt;
    inv.request = RestartRequest{*c};
  } else if (cmd == "exec") {
    auto c = need_container();
    if (!c) return status = Usage("exec needs exactly one CONTAINER before --"), std::nullopt;
    if (after_dashes.empty()) return status = Usage("exec needs -- CMD..."), std::nullopt;
    ExecRequest r{*c, after_dashes, std::nullopt};
    if (timeout) {
      r.timeout_seconds = ParseSeconds(*timeout);
      if (!r.timeout_seconds || *r.timeout_seconds < 1) {
        return status =
                   Usage("exec: --timeout needs seconds (at least 1), not " + Quoted(*timeout)),
               std::nullopt;
      }
    }
    inv.request = r;
  } else {
    return status = Usage("unknown command " + Quoted(cmd)), std::nullopt;
  }
  return inv;
}

void PrintError(const ControlError& e) {
  std::fprintf(stderr, "podshim ctl: %s (%s)\n", e.message.c_str(),
               std::string(ErrorCodeName(e.code)).c_str());
}

// `ctl status` when the shim does not answer: the last known state from the state directory
// (the socket's directory): status.json and every container's exit record.
int ReportShimGone(const Invocation& inv, const std::string& reason) {
  std::filesystem::path state_dir = std::filesystem::path(inv.socket).parent_path();
  if (state_dir.empty()) state_dir = ".";
  // A shim that holds the state dir's lock lives, whatever its socket says (it is not listening
  // yet, or is too busy): its pod is supervised, and status.json may be mid-update.
  if (Result<bool> held = ShimHoldsLock(state_dir); held && *held) {
    std::fprintf(stderr,
                 "podshim ctl: the shim of %s is alive (it holds %s) but does not answer at %s: "
                 "%s\n",
                 state_dir.c_str(), ShimLockPath(state_dir).c_str(), inv.socket.c_str(),
                 reason.c_str());
    return 1;
  }
  ShimGoneReport report;
  report.socket_path = inv.socket;
  report.reason = reason;
  report.status_path = (state_dir / "status.json").string();
  auto status = sys::ReadFile(state_dir / "status.json");
  std::vector<std::string> names;
  if (status) {
    report.status_json = *status;
    names = StatusContainerNames(*status);
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(state_dir / "containers", ec)) {
    if (entry.is_directory(ec)) names.push_back(entry.path().filename().string());
  }
  if (!status && names.empty()) {
    std::fprintf(stderr,
                 "podshim ctl: cannot reach the shim at %s: %s (and %s has no status.json or "
                 "exit records)\n",
                 inv.socket.c_str(), reason.c_str(), state_dir.c_str());
    return 1;
  }
  ExitRecords records(state_dir);
  for (const std::string& n : names) {
    if (!report.exits.contains(n)) report.exits.emplace(n, records.Read(n));
  }
  if (inv.json) {
    std::printf("%s\n", ShimGoneJson(report).c_str());
  } else {
    std::fputs(ShimGoneText(report).c_str(), stdout);
  }
  return 1;
}

// Handles one non-streaming response line; returns the exit status.
int PrintResponse(const Invocation& inv, const std::string& line) {
  Reply<Response> response = ParseResponse(line);
  if (!response) {
    PrintError(response.error());
    return 1;
  }
  if (inv.json) std::printf("%s\n", line.c_str());
  if (!response->result) {
    if (!inv.json) PrintError(response->result.error());
    return 1;
  }
  const std::string& result = *response->result;
  if (const auto* exec = std::get_if<ExecRequest>(&inv.request)) {
    Reply<ExecResult> r = ParseExecResult(result);
    if (!r) {
      PrintError(r.error());
      return 1;
    }
    if (!inv.json) {
      std::fwrite(r->stdout_text.data(), 1, r->stdout_text.size(), stdout);
      std::fflush(stdout);
      std::fwrite(r->stderr_text.data(), 1, r->stderr_text.size(), stderr);
      if (r->timed_out) {
        std::fprintf(stderr, "podshim ctl: exec in %s timed out and was killed\n",
                     Quoted(exec->container).c_str());
      }
    }
    return r->exit_code;
  }
  if (inv.json) return 0;
  if (std::holds_alternative<StatusRequest>(inv.request)) {
    std::fputs(StatusText(result).c_str(), stdout);
  } else if (std::holds_alternative<StatsRequest>(inv.request)) {
    Reply<StatsResult> r = ParseStatsResult(result);
    if (!r) return PrintError(r.error()), 1;
    std::fputs(StatsText(*r).c_str(), stdout);
  } else if (std::holds_alternative<StopRequest>(inv.request)) {
    Reply<StopResult> r = ParseStopResult(result);
    if (!r) return PrintError(r.error()), 1;
    std::printf("%s (grace period %llds)\n",
                r->already_terminating ? "the pod is already terminating" : "stopping the pod",
                static_cast<long long>(r->grace_period_seconds));
  } else if (std::holds_alternative<KillRequest>(inv.request)) {
    Reply<KillResult> r = ParseKillResult(result);
    if (!r) return PrintError(r.error()), 1;
    std::printf("sent %s to %s\n", signals::SignalName(r->signal).c_str(), r->container.c_str());
  } else if (const auto* restart = std::get_if<RestartRequest>(&inv.request)) {
    std::printf("restarting %s\n", restart->container.c_str());
  }
  return 0;
}

// Reads an events stream until its end line (or, following, until the pod finished).
int StreamEvents(const Invocation& inv, LineReader& reader) {
  for (;;) {
    std::optional<std::string> line = reader.Next();
    if (!line) {
      std::fprintf(stderr,
                   "podshim ctl: the shim closed the connection before the end of the "
                   "events\n");
      return 1;
    }
    Reply<Response> response = ParseResponse(*line);
    if (!response) return PrintError(response.error()), 1;
    if (inv.json) {
      std::printf("%s\n", line->c_str());
      std::fflush(stdout);
    }
    if (!response->result) {
      if (!inv.json) PrintError(response->result.error());
      return 1;
    }
    Reply<EventsStreamItem> item = ParseEventsStreamItem(*response->result);
    if (!item) return PrintError(item.error()), 1;
    if (!item->event) return 0;  // the end line
    if (!inv.json) {
      std::printf("%s\n", EventText(item->event->json).c_str());
      std::fflush(stdout);
    }
  }
}

}  // namespace

int RunCtlCommand(int argc, char** argv) {
  int status = 2;
  std::optional<Invocation> inv = ParseArgs(argc, argv, status);
  if (!inv) return status;

  auto fd = ConnectControlSocket(inv->socket);
  if (!fd) {
    std::string reason = fd.error().ToString();
    if (std::holds_alternative<StatusRequest>(inv->request)) {
      return ReportShimGone(*inv, reason);
    }
    std::fprintf(stderr, "podshim ctl: cannot reach the shim at %s: %s\n", inv->socket.c_str(),
                 reason.c_str());
    return 1;
  }
  if (!SendAll(fd->get(), FormatRequest(inv->request) + "\n")) {
    std::fprintf(stderr, "podshim ctl: cannot send to the shim at %s: %s\n", inv->socket.c_str(),
                 Lower(std::strerror(errno)).c_str());
    return 1;
  }
  LineReader reader(fd->get());
  if (std::holds_alternative<EventsRequest>(inv->request)) return StreamEvents(*inv, reader);
  std::optional<std::string> line = reader.Next();
  if (!line) {
    std::fprintf(stderr, "podshim ctl: the shim at %s closed the connection without answering\n",
                 inv->socket.c_str());
    return 1;
  }
  return PrintResponse(*inv, *line);
}

}  // namespace podshim::shim
