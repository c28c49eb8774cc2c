#include "shim/cli/ctl_args.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "common/quoted.h"
#include "shim/cli/command_line.h"
#include "shim/manifest/manifest.h"
#include "signals/signal_names.h"

namespace podshim::shim {
namespace {

using namespace control;  // NOLINT(google-build-using-namespace): requests are built here

struct CtlCommand {
  std::string_view name;
  std::string_view usage;  // after "podshim ctl NAME"
  std::string_view summary;
};

constexpr CtlCommand kCommands[] = {
    {"status", "", "the pod status"},
    {"events", "[--from N] [--follow]", "the pod's events (from sequence number N)"},
    {"stop", "[--grace SECONDS]", "terminate the pod (the grace period may only shrink)"},
    {"kill", "CONTAINER [--signal SIG]", "signal a container's main process (default SIGTERM)"},
    {"restart", "CONTAINER", "kill and start a container again"},
    {"exec", "CONTAINER [--timeout S] -- CMD...", "run a command in a container"},
    {"stats", "", "cpu, memory, pids, OOM kills and restarts"},
    {"version", "", "the running shim's version"},
    {"upgrade", "--binary PATH", "re-execute the shim with another binary, in place"},
};

// A command's own options, as given (checked when the request is built).
struct CommandOptions {
  std::optional<std::string> from, grace, signal, timeout, binary;
  bool follow = false;
};

void AddGlobals(CommandLine& line, CtlInvocation* inv) {
  line.Value("--socket", "PATH", "the shim's control socket (required)",
             [inv](const std::string& v) -> Status {
               inv->socket = v;
               return Ok();
             })
      .Group("global options");
  line.Flag("--json", "print the raw response lines", &inv->json).Group("global options");
}

void AddTo(CommandLine& line, const char* name, const char* value_name, const char* help,
           std::optional<std::string>* target) {
  line.Value(name, value_name, help, [target](const std::string& v) -> Status {
    *target = v;
    return Ok();
  });
}

void AddCommandOptions(CommandLine& line, std::string_view cmd, CommandOptions* o) {
  if (cmd == "events") {
    AddTo(line, "--from", "N", "start at sequence number N", &o->from);
    line.Flag("--follow", "stream new events until the pod finishes", &o->follow);
  } else if (cmd == "stop") {
    AddTo(line, "--grace", "SECONDS", "grace period (seconds or a duration like 30s)", &o->grace);
  } else if (cmd == "kill") {
    AddTo(line, "--signal", "SIG", "signal name or number (default SIGTERM)", &o->signal);
  } else if (cmd == "exec") {
    AddTo(line, "--timeout", "S", "kill the command after S seconds", &o->timeout);
  } else if (cmd == "upgrade") {
    AddTo(line, "--binary", "PATH", "the podshim binary to run (required)", &o->binary);
  }
}

std::string TopUsage() {
  CtlInvocation unused;
  CommandLine line("podshim ctl", "--socket PATH [--json] COMMAND [ARGS]",
                   "One request to a running shim over its control socket.\nExit status: 0 ok, "
                   "1 the shim answered with an error or cannot be reached, 2 bad usage;\n`exec` "
                   "exits with the command's own exit status.");
  AddGlobals(line, &unused);
  for (const CtlCommand& c : kCommands) {
    std::string text(c.summary);
    if (!c.usage.empty()) text = std::string(c.usage) + ": " + text;
    line.Subcommand(std::string(c.name), text);
  }
  line.Footer("`podshim ctl COMMAND --help` for a command's options.");
  return line.Help();
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

Result<Request> EventsOrStop(std::string_view cmd, const CommandOptions& o) {
  if (cmd == "stop") {
    StopRequest r;
    if (o.grace) {
      r.grace_seconds = ParseSeconds(*o.grace);
      if (!r.grace_seconds)
        return Error::Invalid("stop: --grace needs seconds, not " + Quoted(*o.grace));
    }
    return Request(r);
  }
  EventsRequest r;
  r.follow = o.follow;
  if (o.from) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(o.from->data(), o.from->data() + o.from->size(), n);
    if (o.from->empty() || ec != std::errc() || p != o.from->data() + o.from->size()) {
      return Error::Invalid("events: --from needs a sequence number, not " + Quoted(*o.from));
    }
    r.from_seq = std::max<uint64_t>(n, 1);
  }
  return Request(r);
}

Result<Request> ForContainer(std::string_view cmd, const CommandOptions& o,
                             const std::vector<std::string>& positional,
                             const std::vector<std::string>& after_dashes) {
  const std::string what = std::string(cmd) + " needs exactly one CONTAINER";
  if (positional.size() != 1) return Error::Invalid(what + (cmd == "exec" ? " before --" : ""));
  const std::string& container = positional[0];
  if (cmd == "restart") return Request(RestartRequest{container});
  if (cmd == "kill") {
    KillRequest r{container, 15};
    if (o.signal) {
      auto sig = signals::ParseSignal(*o.signal);
      if (!sig) return Error::Invalid("kill: --signal: " + sig.error().ToString());
      r.signal = *sig;
    }
    return Request(r);
  }
  if (after_dashes.empty()) return Error::Invalid("exec needs -- CMD...");
  ExecRequest r{container, after_dashes, std::nullopt};
  if (o.timeout) {
    r.timeout_seconds = ParseSeconds(*o.timeout);
    if (!r.timeout_seconds || *r.timeout_seconds < 1) {
      return Error::Invalid("exec: --timeout needs seconds (at least 1), not " +
                            Quoted(*o.timeout));
    }
  }
  return Request(r);
}

Result<Request> BuildRequest(std::string_view cmd, const CommandOptions& o,
                             const ParsedLine& parsed) {
  const std::vector<std::string> none;
  const std::vector<std::string>& after = parsed.after_dashes ? *parsed.after_dashes : none;
  if (cmd == "upgrade" || cmd == "version") {
    if (!parsed.positional.empty() || parsed.after_dashes) {
      return Error::Invalid(std::string(cmd) + " takes no arguments");
    }
    if (cmd == "version") return Request(VersionRequest{});
    if (!o.binary || o.binary->empty()) return Error::Invalid("upgrade needs --binary PATH");
    // The shim resolves nothing itself: a relative path is the caller's.
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(*o.binary, ec);
    if (ec) return Error::Errno(ec.value(), "upgrade: resolve --binary " + Quoted(*o.binary));
    return Request(UpgradeRequest{abs.lexically_normal().string()});
  }
  if (cmd == "status" || cmd == "stats" || cmd == "events" || cmd == "stop") {
    if (!parsed.positional.empty() || (parsed.after_dashes && cmd != "events" && cmd != "stop")) {
      return Error::Invalid(std::string(cmd) + " takes no arguments");
    }
    if (cmd == "status") return Request(StatusRequest{});
    if (cmd == "stats") return Request(StatsRequest{});
    return EventsOrStop(cmd, o);
  }
  return ForContainer(cmd, o, parsed.positional, after);
}

}  // namespace

std::string CtlUsage() { return TopUsage(); }

Result<CtlArgs> ParseCtlArgs(std::span<char* const> args) {
  CtlArgs out;
  CommandLine top("podshim ctl", "", "");
  AddGlobals(top, &out.invocation);
  top.HelpAnywhere(false);
  ParsedLine parsed = PODSHIM_TRY(top.Parse(args));
  if (parsed.help) {
    out.help = true;
    out.help_text = TopUsage();
    return out;
  }
  if (parsed.positional.empty()) {
    if (out.invocation.socket.empty()) return Error::Invalid("--socket PATH is required");
    return Error::Invalid("missing command");
  }
  const std::string cmd = parsed.positional.front();
  auto known = std::find_if(std::begin(kCommands), std::end(kCommands),
                            [&](const CtlCommand& c) { return c.name == cmd; });
  if (known == std::end(kCommands)) return Error::Invalid("unknown command " + Quoted(cmd));
  CommandOptions options;
  CommandLine line("podshim ctl " + cmd, std::string(known->usage), std::string(known->summary));
  AddCommandOptions(line, cmd, &options);
  AddGlobals(line, &out.invocation);
  line.OptionsAnywhere(true);
  std::vector<std::string> rest(parsed.positional.begin() + 1, parsed.positional.end());
  ParsedLine sub = PODSHIM_TRY_WRAP(line.Parse(rest), cmd);
  if (sub.help) {
    out.help = true;
    out.help_text = line.Help();
    return out;
  }
  if (out.invocation.socket.empty()) return Error::Invalid("--socket PATH is required");
  out.invocation.request = PODSHIM_TRY(BuildRequest(cmd, options, sub));
  return out;
}

}  // namespace podshim::shim
