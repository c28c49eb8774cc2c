// `podshim oci`: the runc-compatible command line. Parses the global and per-command options,
// dispatches to the lifecycle (oci_lifecycle.h) and prints what runc prints. Exit status: 0 done;
// 1 a runtime error (runc's convention: bad bundle, unknown container, wrong state); 2 a usage
// error (unknown command or option, missing argument, bad signal name); `run`: the container's.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
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
#include "shim/cli/oci_args.h"
#include "shim/cli/oci_log.h"
#include "shim/ocirt/oci_cgroup_ops.h"
#include "shim/ocirt/oci_exec.h"
#include "shim/ocirt/oci_lifecycle.h"
#include "signals/signal_names.h"

namespace podshim::shim {
namespace {

namespace fs = std::filesystem;

constexpr const char kDefaultRoot[] = "/run/podshim-oci";

int UsageError(const std::string& what, const char* command = nullptr) {
  OciLogError(what);
  std::fprintf(stderr, "podshim oci%s%s: %s\n", command ? " " : "", command ? command : "",
               what.c_str());
  std::fprintf(stderr, "run `podshim oci %s--help` for usage\n",
               command ? (std::string(command) + " ").c_str() : "");
  return 2;
}

int RuntimeError(const Error& e) {
  OciLogError(e.ToString());
  std::fprintf(stderr, "podshim oci: %s\n", e.ToString().c_str());
  return 1;
}

int Done(const Status& s) { return s ? 0 : RuntimeError(s.error()); }

// --preserve-fds N: 0 .. kMaxPreservedFds.
Result<int> PreserveFds(const OciArgs& a) {
  constexpr int kMaxPreservedFds = 64;  // what the launcher installs at most
  const std::string text = a.Value("preserve-fds", "0");
  int n = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0 || n > kMaxPreservedFds) {
    return Error::Invalid("--preserve-fds: expected a number from 0 to " +
                          std::to_string(kMaxPreservedFds) + ", got " + Quoted(text));
  }
  return n;
}

Result<OciCreateRequest> CreateRequest(const OciArgs& a) {
  OciCreateRequest req{a.positional[0], a.Value("bundle", "."), a.Value("pid-file"),
                       a.Value("console-socket")};
  req.preserve_fds = PODSHIM_TRY(PreserveFds(a));
  return req;
}

Result<OciExecRequest> ExecRequest(const OciArgs& a) {
  OciExecRequest req;
  req.id = a.positional[0];
  req.args.assign(a.positional.begin() + 1, a.positional.end());
  req.process_file = a.Value("process");
  if (req.process_file.empty() && req.args.empty()) {
    return Error::Invalid("a command is required unless --process is given");
  }
  if (!req.process_file.empty() && !req.args.empty()) {
    return Error::Invalid("--process: a command cannot be given with it");
  }
  req.detach = a.Has("detach");
  req.pid_file = a.Value("pid-file");
  req.console_socket = a.Value("console-socket");
  req.tty = a.Has("tty");
  req.env = a.Values("env");
  req.cwd = a.Value("cwd");
  req.user = a.Value("user");
  req.additional_gids = a.Values("additional-gids");
  req.caps = a.Values("cap");
  req.no_new_privs = a.Has("no-new-privs");
  req.preserve_fds = PODSHIM_TRY(PreserveFds(a));
  req.process_label = a.Value("process-label");
  req.apparmor = a.Value("apparmor");
  req.ignore_paused = a.Has("ignore-paused");
  return req;
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

int Ps(const oci::StateDir& dir, const OciArgs& a) {
  std::string format = a.Value("format", "table");
  if (format != "table" && format != "json") {
    return UsageError("--format: expected table or json, got " + Quoted(format), "ps");
  }
  auto pids = OciPids(dir, a.positional[0]);
  if (!pids) return RuntimeError(pids.error());
  if (format == "json") {
    std::printf("%s\n", nlohmann::json(*pids).dump().c_str());
    return 0;
  }
  auto table = OciPsTable(*pids, {a.positional.begin() + 1, a.positional.end()});
  if (!table) return RuntimeError(table.error());
  std::fputs(table->c_str(), stdout);
  return 0;
}

int Update(const oci::StateDir& dir, const OciArgs& a) {
  std::string resources;
  std::string field = "--resources";
  if (std::string file = a.Value("resources"); !file.empty()) {
    auto text = file == "-" ? sys::ReadAll(STDIN_FILENO) : sys::ReadFile(file);
    if (!text) return RuntimeError(text.error());
    resources = std::move(*text);
  } else {
    auto json = UpdateFlagsToResources(a.values);
    if (!json) return UsageError(json.error().ToString(), "update");
    resources = std::move(*json);
    field = "update";
  }
  return Done(OciUpdate(dir, a.positional[0], resources, field));
}

int Dispatch(const std::string& root, const std::string& cmd, const OciArgs& a) {
  oci::StateDir dir(root);
  const char* c = cmd.c_str();
  if (cmd == "create" || cmd == "run") {
    auto req = CreateRequest(a);
    if (!req) return UsageError(req.error().ToString(), c);
    if (cmd == "create") return Done(OciCreate(dir, *req));
    auto status = OciRun(dir, *req, a.Has("detach"));
    return status ? *status : RuntimeError(status.error());
  }
  if (cmd == "exec") {
    auto req = ExecRequest(a);
    if (!req) return UsageError(req.error().ToString(), c);
    auto status = OciExec(dir, *req);
    return status ? *status : RuntimeError(status.error());
  }
  if (cmd == "start") return Done(OciStart(dir, a.positional[0]));
  if (cmd == "state") {
    auto state = dir.Load(a.positional[0]);
    if (!state) return RuntimeError(state.error());
    auto status = dir.CurrentStatus(*state);
    if (!status) return RuntimeError(status.error());
    std::printf("%s\n", oci::StateToRuncJson(*state, *status, 2).c_str());
    return 0;
  }
  if (cmd == "kill") {
    auto sig = signals::ParseSignal(a.positional.size() > 1 ? a.positional[1] : "SIGTERM");
    if (!sig) return UsageError(sig.error().ToString(), c);
    if (a.Has("all")) return Done(OciKillAll(dir, a.positional[0], *sig));
    return Done(OciKill(dir, a.positional[0], *sig));
  }
  if (cmd == "pause") return Done(OciPause(dir, a.positional[0]));
  if (cmd == "resume") return Done(OciResume(dir, a.positional[0]));
  if (cmd == "update") return Update(dir, a);
  if (cmd == "ps") return Ps(dir, a);
  if (cmd == "delete") return Done(OciDelete(dir, a.positional[0], a.Has("force")));
  if (cmd == "list") return List(dir, a);
  if (cmd == "features") {
    std::printf("%s\n", oci::FeaturesJson(4).c_str());
    return 0;
  }
  if (a.Has("rootless")) return UsageError("--rootless: not supported yet", c);
  return Spec(a);  // "spec"
}

// The global options: given before the command, then after it (the later wins, as in runc).
Result<std::string> Root(const OciArgs& global, const OciArgs& command) {
  auto value = [&](const char* name, const char* fallback) {
    return command.Value(name, global.Value(name, fallback));
  };
  std::string format = value("log-format", "text");
  if (format != "text" && format != "json") {
    return Error::Invalid("--log-format: expected text or json, got " + Quoted(format));
  }
  std::string root = value("root", kDefaultRoot);
  if (root.empty()) return Error::Invalid("--root: must not be empty");
  return root;
}

}  // namespace

int RunOciCommand(int argc, char** argv) {
  std::span<char* const> args(argv + 1, static_cast<size_t>(argc > 0 ? argc - 1 : 0));
  auto global = ParseOciGlobal(args);
  if (!global) return UsageError(global.error().ToString());
  // --log before the command logs usage errors of the command too (set again below).
  (void)ConfigureOciLog(global->Value("log"), global->Value("log-format"));
  if (global->Has("version")) return PrintVersion();
  if (global->positional.empty()) {
    std::fputs(OciHelp().c_str(), global->help ? stdout : stderr);
    return global->help ? 0 : 2;
  }
  const std::string cmd = global->positional[0];
  std::vector<char*> cmd_args;
  for (std::string& a : std::span(global->positional).subspan(1)) cmd_args.push_back(a.data());
  if (cmd == "help" || global->help) {
    const std::string topic = cmd == "help" && !cmd_args.empty() ? cmd_args[0] : cmd;
    if (const OciCommandSpec* spec = FindOciCommand(topic)) {
      std::fputs(OciCommandHelp(*spec).c_str(), stdout);
      return 0;
    }
    if (cmd == "help" || topic == cmd) {
      std::fputs(OciHelp().c_str(), stdout);
      return 0;
    }
  }
  const OciCommandSpec* spec = FindOciCommand(cmd);
  if (!spec) return UsageError("unknown command " + Quoted(cmd));
  auto parsed = ParseOciCommand(*spec, cmd_args);
  if (!parsed) return UsageError(parsed.error().ToString(), cmd.c_str());
  if (parsed->help) {
    std::fputs(OciCommandHelp(*spec).c_str(), stdout);
    return 0;
  }
  auto root = Root(*global, *parsed);
  if (!root) return UsageError(root.error().ToString());
  const std::string log = parsed->Value("log", global->Value("log"));
  auto logged = ConfigureOciLog(log, parsed->Value("log-format", global->Value("log-format")));
  if (!logged) return RuntimeError(logged.error());
  return Dispatch(*root, cmd, *parsed);
}

}  // namespace podshim::shim
