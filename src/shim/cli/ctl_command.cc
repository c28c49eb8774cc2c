// podshim ctl --socket PATH [--json] CMD ...: one request to a running shim over its control
// socket (docs/control-api.md), printed human-readable or, with --json, as the raw response
// lines. Exit status: 0 ok, 1 the shim answered with an error or cannot be reached, 2 bad usage;
// `exec` exits with the command's own exit status.
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/quoted.h"
#include "common/sys.h"
#include "common/unique_fd.h"
#include "shim/cli/command_line.h"
#include "shim/cli/commands.h"
#include "shim/cli/ctl_args.h"
#include "shim/cli/ctl_format.h"
#include "shim/control/control_client.h"
#include "shim/control/control_protocol.h"
#include "shim/record/exit_records.h"
#include "shim/record/shim_lock.h"
#include "signals/signal_names.h"

namespace podshim::shim {
namespace {

using namespace control;  // NOLINT(google-build-using-namespace): this file is the client

std::string Lower(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

using Invocation = CtlInvocation;

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
  } else if (std::holds_alternative<VersionRequest>(inv.request)) {
    Reply<VersionResult> r = ParseVersionResult(result);
    if (!r) return PrintError(r.error()), 1;
    std::printf("podshim version %s (commit %s), shim pid %lld, %lld upgrade(s) in place\n",
                r->version.c_str(), r->commit.c_str(), static_cast<long long>(r->pid),
                static_cast<long long>(r->handovers));
  }
  return 0;
}

// One `version` request on a new connection: the answer, or why there is none.
Result<VersionResult> AskVersion(const std::string& socket, std::string* line_out) {
  UniqueFd fd = PODSHIM_TRY(ConnectControlSocket(socket));
  // A new image that never answers must not hold `ctl upgrade` beyond its deadline.
  timeval wait{5, 0};
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  if (!SendAll(fd.get(), FormatRequest(VersionRequest{}) + "\n")) {
    return Error::Errno(errno, "send");
  }
  LineReader reader(fd.get());
  std::optional<std::string> line = reader.Next();
  if (!line) return Error::Invalid("the connection closed without an answer");
  Reply<Response> response = ParseResponse(*line);
  if (response && response->result) {
    Reply<VersionResult> v = ParseVersionResult(*response->result);
    if (v) {
      *line_out = *line;
      return *v;
    }
  }
  return Error::Invalid("not a version answer: " + *line);
}

// `ctl upgrade` once the shim accepted: it execs the new binary after this reply, and takes no
// connection until then. Asks `version` until the new image answers (15 s at most); an answer
// from the old image means its exec failed (it accepts again then).
int AwaitUpgrade(const Invocation& inv, const std::string& accepted_line) {
  Reply<Response> response = ParseResponse(accepted_line);
  Reply<UpgradeResult> up = response && response->result
                                ? ParseUpgradeResult(*response->result)
                                : Reply<UpgradeResult>(std::unexpected(ControlError{}));
  if (!up) return PrintResponse(inv, accepted_line);
  if (inv.json) std::printf("%s\n", accepted_line.c_str());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    std::string line;
    Result<VersionResult> v = AskVersion(inv.socket, &line);
    if (v && v->pid == up->pid && v->handovers == up->handovers && v->version == up->to) {
      if (inv.json) {
        std::printf("%s\n", line.c_str());
      } else {
        std::printf("upgraded the shim (pid %lld) in place: version %s -> %s\n",
                    static_cast<long long>(up->pid), up->from.c_str(), up->to.c_str());
      }
      return 0;
    }
    if (v && v->pid == up->pid && v->handovers < up->handovers) {
      std::fprintf(stderr,
                   "podshim ctl: the upgrade to %s failed: the shim (pid %lld) runs on as "
                   "version %s (its log says why)\n",
                   up->binary.c_str(), static_cast<long long>(up->pid), v->version.c_str());
      return 1;
    }
    last =
        v ? "version " + v->version + " from pid " + std::to_string(v->pid) : v.error().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr,
               "podshim ctl: the shim accepted the upgrade to %s (version %s) but did not answer "
               "as that version within 15 s (last: %s)\n",
               up->binary.c_str(), up->to.c_str(), last.c_str());
  return 1;
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
  std::span<char* const> args(argv, static_cast<size_t>(argc));
  Result<CtlArgs> parsed = ParseCtlArgs(args.empty() ? args : args.subspan(1));
  if (!parsed) {
    PrintErrorLines("podshim ctl: ", parsed.error());
    std::fputs(CtlUsage().c_str(), stderr);
    return 2;
  }
  if (parsed->help) {
    std::fputs(parsed->help_text.c_str(), stdout);
    return 0;
  }
  const Invocation* inv = &parsed->invocation;

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
  if (std::holds_alternative<UpgradeRequest>(inv->request)) return AwaitUpgrade(*inv, *line);
  return PrintResponse(*inv, *line);
}

}  // namespace podshim::shim
