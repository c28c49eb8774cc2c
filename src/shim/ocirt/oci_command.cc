// `podshim oci`: the runc-compatible command line. Parses the global and per-command options,
// dispatches to the lifecycle (oci_lifecycle.h) and prints what runc prints. Exit status: 0 done;
// 1 a runtime error (runc's convention: bad bundle, unknown container, wrong state); 2 a usage
// error (unknown command or option, missing argument, bad signal name); `run`: the container's.
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/quoted.h"
#include "common/sys.h"
#include "oci/default_spec.h"
#include "oci/features.h"
#include "oci/state.h"
#include "shim/cli/commands.h"
#include "shim/ocirt/oci_args.h"
#include "shim/ocirt/oci_lifecycle.h"
#include "signals/signal_names.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;

constexpr const char kDefaultRoot[] = "/run/podshim-oci";

constexpr const char kUsage[] =
    "usage: podshim oci [--root DIR] COMMAND [OPTIONS] [ARGS]\n"
    "runc-compatible runtime for single OCI bundles (state under --root, default "
    "/run/podshim-oci)\n"
    "\n"
    "commands:\n"
    "  create [--bundle DIR] [--pid-file F] ID   set up ID; its program waits for start\n"
    "  start ID                                  let a created container's program run\n"
    "  run [--bundle DIR] [--pid-file F] [-d] ID create + start + wait; exits as the program\n"
    "  state ID                                  print the state JSON\n"
    "  kill ID [SIGNAL]                          send SIGNAL (default SIGTERM)\n"
    "  delete [--force] ID                       remove a stopped (or, forced, any) container\n"
    "  list [--format table|json] [-q]           list the containers\n"
    "  features                                  print the OCI features JSON\n"
    "  spec [--bundle DIR] [-- ARGS...]          write a default config.json (ARGS: sh)\n"
    "\n"
    "global options: --root DIR, --version|-v; accepted and ignored as in runc: --log FILE,\n"
    "--log-format FMT, --debug, --systemd-cgroup, --rootless VALUE. `podshim oci COMMAND --help`\n"
    "for details.\n";

struct CommandHelp {
  const char* name;
  const char* text;
};

constexpr CommandHelp kHelp[] = {
    {"create",
     "usage: podshim oci create [--bundle|-b DIR] [--pid-file FILE] ID\n"
     "Sets the container up from DIR/config.json (default: the current directory) and leaves\n"
     "its program waiting until `start`. --pid-file receives the container's pid.\n"},
    {"start", "usage: podshim oci start ID\nLets the program of a created container run.\n"},
    {"run",
     "usage: podshim oci run [--bundle|-b DIR] [--pid-file FILE] [--detach|-d] ID\n"
     "Creates and starts ID, waits for it and exits with its status (128+N for signal N).\n"
     "SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to it; its state is\n"
     "removed at the end. --detach returns once it runs.\n"},
    {"state", "usage: podshim oci state ID\nPrints the state of ID as JSON.\n"},
    {"kill",
     "usage: podshim oci kill ID [SIGNAL]\n"
     "Sends SIGNAL (name like TERM or SIGKILL, or a number; default SIGTERM) to ID's process.\n"},
    {"delete",
     "usage: podshim oci delete [--force|-f] ID\n"
     "Removes a stopped container, or a created one (its program never ran). --force also\n"
     "SIGKILLs a running one and waits for it to die.\n"},
    {"list",
     "usage: podshim oci list [--format|-f table|json] [--quiet|-q]\n"
     "Lists the containers under --root.\n"},
    {"features", "usage: podshim oci features\nPrints the OCI features JSON of this build.\n"},
    {"spec",
     "usage: podshim oci spec [--bundle|-b DIR] [-- ARGS...]\n"
     "Writes DIR/config.json (default: the current directory) with podshim's defaults and\n"
     "ARGS as process.args (default: sh). Refuses to overwrite an existing config.json.\n"},
};

int UsageError(const std::string& what, const char* command = nullptr) {
  std::fprintf(stderr, "podshim oci%s%s: %s\n", command ? " " : "", command ? command : "",
               what.c_str());
  std::fprintf(stderr, "run `podshim oci %s--help` for usage\n",
               command ? (std::string(command) + " ").c_str() : "");
  return 2;
}

int RuntimeError(const Error& e) {
  std::fprintf(stderr, "podshim oci: %s\n", e.ToString().c_str());
  return 1;
}

int Done(const Status& s) { return s ? 0 : RuntimeError(s.error()); }

bool WantsHelp(std::span<char* const> args) {
  for (char* a : args) {
    std::string_view s = a;
    if (s == "--") return false;
    if (s == "--help" || s == "-h") return true;
  }
  return false;
}

// Parses a command's options and checks the positional count is within [min, max].
Result<OciArgs> ParseCommand(std::span<char* const> args, std::span<const OciOption> options,
                             size_t min, size_t max) {
  OciArgs parsed = PODSHIM_TRY(ParseOciArgs(args, options));
  if (parsed.positional.size() < min) return Error::Invalid("missing argument (see --help)");
  if (parsed.positional.size() > max) {
    return Error::Invalid("unexpected argument " + Quoted(parsed.positional[max]));
  }
  return parsed;
}

constexpr OciOption kCreateOptions[] = {
    {"bundle", 'b', true},     {"pid-file", '\0', true},        {"console-socket", '\0', true},
    {"no-pivot", '\0', false}, {"no-new-keyring", '\0', false}, {"preserve-fds", '\0', true},
    {"detach", 'd', false}};

Result<OciCreateRequest> CreateRequest(const OciArgs& a) {
  if (!a.Value("console-socket").empty()) {
    return Error::Invalid("--console-socket: not supported (process.terminal is not supported)");
  }
  std::string preserve = a.Value("preserve-fds", "0");
  if (preserve != "0") return Error::Invalid("--preserve-fds: not supported yet");
  return OciCreateRequest{a.positional[0], a.Value("bundle", "."), a.Value("pid-file")};
}

// The user owning a container's state dir, as runc's list shows it.
std::string OwnerOf(const fs::path& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) < 0) return "";
  if (struct passwd* pw = ::getpwuid(st.st_uid)) return pw->pw_name;
  return "#" + std::to_string(st.st_uid);
}

int List(const oci::StateDir& dir, const OciArgs& a) {
  std::string format = a.Value("format", "table");
  if (format != "table" && format != "json") {
    return UsageError("--format: expected table or json, got " + Quoted(format), "list");
  }
  auto ids = dir.List();
  if (!ids) return RuntimeError(ids.error());
  struct Row {
    oci::ContainerState state;
    oci::ContainerStatus status;
  };
  std::vector<Row> rows;
  for (const std::string& id : *ids) {
    auto state = dir.Load(id);
    if (!state) continue;  // deleted meanwhile
    auto status = dir.CurrentStatus(*state);
    if (!status) continue;
    rows.push_back({std::move(*state), *status});
  }
  if (a.Has("quiet")) {
    for (const Row& r : rows) std::printf("%s\n", r.state.id.c_str());
    return 0;
  }
  if (format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const Row& r : rows) {
      out.push_back(nlohmann::ordered_json::parse(oci::StateToRuncJson(r.state, r.status, -1)));
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  // runc's tabwriter: columns padded to the widest cell + 3, at least 12; the last is not padded.
  std::vector<std::vector<std::string>> table = {
      {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const Row& r : rows) {
    pid_t pid = r.status == oci::ContainerStatus::kStopped ? 0 : r.state.pid;
    table.push_back({r.state.id, std::to_string(pid), oci::ContainerStatusName(r.status),
                     r.state.bundle, r.state.created, r.state.owner});
    if (table.back()[5].empty()) table.back()[5] = OwnerOf(dir.ContainerDir(r.state.id));
  }
  std::vector<size_t> width(6, 0);
  for (const auto& row : table) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size() + 3);
  }
  for (const auto& row : table) {
    std::string line;
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      line += row[c];
      line.append(std::max<size_t>(width[c], 12) - row[c].size(), ' ');
    }
    line += row.back();
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

int Spec(const OciArgs& a) {
  fs::path config = fs::path(a.Value("bundle", ".")) / "config.json";
  struct stat st;
  if (::lstat(config.c_str(), &st) == 0) {
    return RuntimeError(
        Error::Domain(ErrorCode::kConflict, config.string() + " exists; remove it first"));
  }
  return Done(sys::WriteFile(config, oci::DefaultSpecJson(a.positional), 0644));
}

int Dispatch(const std::string& root, const std::string& cmd, std::span<char* const> args) {
  oci::StateDir dir(root);
  const char* c = cmd.c_str();
  if (cmd == "create" || cmd == "run") {
    auto a = ParseCommand(args, kCreateOptions, 1, 1);
    if (!a) return UsageError(a.error().ToString(), c);
    auto req = CreateRequest(*a);
    if (!req) return UsageError(req.error().ToString(), c);
    if (cmd == "create") return Done(OciCreate(dir, *req));
    auto status = OciRun(dir, *req, a->Has("detach"));
    return status ? *status : RuntimeError(status.error());
  }
  if (cmd == "start" || cmd == "state") {
    auto a = ParseCommand(args, {}, 1, 1);
    if (!a) return UsageError(a.error().ToString(), c);
    const std::string& id = a->positional[0];
    if (cmd == "start") return Done(OciStart(dir, id));
    auto state = dir.Load(id);
    if (!state) return RuntimeError(state.error());
    auto status = dir.CurrentStatus(*state);
    if (!status) return RuntimeError(status.error());
    std::printf("%s\n", oci::StateToRuncJson(*state, *status, 2).c_str());
    return 0;
  }
  if (cmd == "kill") {
    constexpr OciOption kOptions[] = {{"all", 'a', false}};
    auto a = ParseCommand(args, kOptions, 1, 2);
    if (!a) return UsageError(a.error().ToString(), c);
    auto sig = signals::ParseSignal(a->positional.size() > 1 ? a->positional[1] : "SIGTERM");
    if (!sig) return UsageError(sig.error().ToString(), c);
    return Done(OciKill(dir, a->positional[0], *sig));
  }
  if (cmd == "delete") {
    constexpr OciOption kOptions[] = {{"force", 'f', false}};
    auto a = ParseCommand(args, kOptions, 1, 1);
    if (!a) return UsageError(a.error().ToString(), c);
    return Done(OciDelete(dir, a->positional[0], a->Has("force")));
  }
  if (cmd == "list") {
    constexpr OciOption kOptions[] = {{"format", 'f', true}, {"quiet", 'q', false}};
    auto a = ParseCommand(args, kOptions, 0, 0);
    if (!a) return UsageError(a.error().ToString(), c);
    return List(dir, *a);
  }
  if (cmd == "features") {
    auto a = ParseCommand(args, {}, 0, 0);
    if (!a) return UsageError(a.error().ToString(), c);
    std::printf("%s\n", oci::FeaturesJson(4).c_str());
    return 0;
  }
  if (cmd == "spec") {
    constexpr OciOption kOptions[] = {{"bundle", 'b', true}, {"rootless", '\0', false}};
    auto a = ParseCommand(args, kOptions, 0, SIZE_MAX);
    if (!a) return UsageError(a.error().ToString(), c);
    if (a->Has("rootless")) return UsageError("--rootless: not supported yet", c);
    return Spec(*a);
  }
  return UsageError("unknown command " + Quoted(cmd));
}

}  // namespace

int RunOciCommand(int argc, char** argv) {
  // Global options come before the command, as with runc.
  constexpr OciOption kGlobal[] = {{"root", '\0', true},
                                   {"log", '\0', true},
                                   {"log-format", '\0', true},
                                   {"debug", '\0', false},
                                   {"systemd-cgroup", '\0', false},
                                   {"rootless", '\0', true},
                                   {"help", 'h', false},
                                   {"version", 'v', false}};
  std::span<char* const> args(argv + 1, static_cast<size_t>(argc > 0 ? argc - 1 : 0));
  auto global = ParseOciArgs(args, kGlobal);
  if (!global) return UsageError(global.error().ToString());
  if (global->Has("version")) return PrintVersion();
  if (global->positional.empty()) {
    std::fputs(kUsage, global->Has("help") ? stdout : stderr);
    return global->Has("help") ? 0 : 2;
  }
  std::string format = global->Value("log-format", "text");
  if (format != "text" && format != "json") {
    return UsageError("--log-format: expected text or json, got " + Quoted(format));
  }
  std::string root = global->Value("root", kDefaultRoot);
  if (root.empty()) return UsageError("--root: must not be empty");

  // The command and its arguments are the tail of argv after the global options.
  size_t consumed = args.size() - global->positional.size();
  std::span<char* const> rest = args.subspan(consumed);
  std::string cmd = rest[0];
  std::span<char* const> cmd_args = rest.subspan(1);
  if (WantsHelp(cmd_args) || cmd == "help") {
    const std::string topic = cmd == "help" && !cmd_args.empty() ? cmd_args[0] : cmd;
    for (const CommandHelp& h : kHelp) {
      if (topic == h.name) {
        std::fputs(h.text, stdout);
        return 0;
      }
    }
    if (cmd == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    return UsageError("unknown command " + Quoted(cmd));
  }
  return Dispatch(root, cmd, cmd_args);
}

}  // namespace podshim::shim
