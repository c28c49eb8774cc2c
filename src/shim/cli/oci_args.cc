#include "shim/cli/oci_args.h"

#include <memory>
#include <utility>

#include "common/quoted.h"
#include "shim/cli/command_line.h"

namespace podshim::shim {
namespace {

constexpr OciOption kGlobalOptions[] = {
    {"root", '\0', true, "state directory (default /run/podshim-oci)", "DIR"},
    {"log", '\0', true, "also write errors to FILE, in runc's form", "FILE"},
    {"log-format", '\0', true, "the form of --log lines: text (default) or json", "FORMAT"},
    {"debug", '\0', false, "accepted and ignored"},
    {"systemd-cgroup", '\0', false, "accepted and ignored"},
    {"rootless", '\0', true, "accepted and ignored", "VALUE"},
};
constexpr OciOption kVersionOption = {"version", 'v', false, "print the version and exit"};

constexpr OciOption kCreateOptions[] = {
    {"bundle", 'b', true, "the bundle directory (default: the current one)", "DIR"},
    {"pid-file", '\0', true, "write the container's pid here", "FILE"},
    {"console-socket", '\0', true,
     "process.terminal: send the pty master to this AF_UNIX socket (create, run -d)", "PATH"},
    {"no-pivot", '\0', false, "accepted"},
    {"no-new-keyring", '\0', false, "accepted"},
    {"preserve-fds", '\0', true, "pass the caller's fds 3 .. 3+N-1 on to the container", "N"},
    {"detach", 'd', false, "run: return once the container runs"}};
constexpr OciOption kKillOptions[] = {
    {"all", 'a', false, "signal every process in the container's cgroup"}};
constexpr OciOption kPsOptions[] = {{"format", 'f', true, "table (default) or json", "FORMAT"}};
constexpr OciOption kUpdateOptions[] = {
    {"resources", 'r', true, "linux.resources JSON to merge in ('-': stdin); other flags ignored",
     "FILE"},
    {"blkio-weight", '\0', true, "blkio weight, 10 to 1000", "N"},
    {"cpu-period", '\0', true, "CFS period (microseconds)", "N"},
    {"cpu-quota", '\0', true, "CFS quota (microseconds, -1: none)", "N"},
    {"cpu-share", '\0', true, "cpu shares (relative weight)", "N"},
    {"cpu-shares", '\0', true, "same as --cpu-share", "N"},
    {"cpu-rt-period", '\0', true, "not on cgroup v2 (warning)", "N"},
    {"cpu-rt-runtime", '\0', true, "not on cgroup v2 (warning)", "N"},
    {"cpuset-cpus", '\0', true, "cpus to use (\"0-2,4\")", "LIST"},
    {"cpuset-mems", '\0', true, "memory nodes to use", "LIST"},
    {"memory", '\0', true, "memory limit (bytes, or 512m, 1g; -1: none)", "SIZE"},
    {"memory-reservation", '\0', true, "memory.low (bytes)", "SIZE"},
    {"memory-swap", '\0', true, "memory + swap limit (bytes; -1: unlimited swap)", "SIZE"},
    {"kernel-memory", '\0', true, "not on cgroup v2 (warning)", "SIZE"},
    {"kernel-memory-tcp", '\0', true, "not on cgroup v2 (warning)", "SIZE"},
    {"pids-limit", '\0', true, "maximum number of pids (-1: none)", "N"},
    {"l3-cache-schema", '\0', true, "not supported (Intel RDT)", "SCHEMA"},
    {"mem-bw-schema", '\0', true, "not supported (Intel RDT)", "SCHEMA"}};
constexpr OciOption kExecOptions[] = {
    {"process", 'p', true, "the process JSON (runtime-spec `process`) instead of COMMAND", "FILE"},
    {"detach", 'd', false, "return once the process runs (the caller reaps it)"},
    {"pid-file", '\0', true, "write the process's pid here", "FILE"},
    {"console-socket", '\0', true, "receives the pty master (with --tty and --detach)", "PATH"},
    {"tty", 't', false, "allocate a pseudo-terminal"},
    {"env", 'e', true, "add KEY=VALUE to the environment (repeatable)", "KEY=VALUE"},
    {"cwd", 'w', true, "working directory in the container", "DIR"},
    {"user", 'u', true, "UID[:GID]", "UID[:GID]"},
    {"additional-gids", 'g', true, "an additional group id (repeatable)", "GID"},
    {"cap", 'c', true, "add a capability (bounding, effective, permitted, ambient)", "CAP"},
    {"no-new-privs", '\0', false, "set no_new_privs for the process"},
    {"preserve-fds", '\0', true, "pass the caller's fds 3 .. 3+N-1 on to the process", "N"},
    {"process-label", '\0', true, "accepted and ignored (no SELinux)", "LABEL"},
    {"apparmor", '\0', true, "accepted and ignored (no AppArmor)", "PROFILE"},
    {"ignore-paused", '\0', false, "exec into a paused container too"}};
constexpr OciOption kDeleteOptions[] = {
    {"force", 'f', false, "also SIGKILL a running container and wait for it"}};
constexpr OciOption kListOptions[] = {{"format", 'f', true, "table (default) or json", "FORMAT"},
                                      {"quiet", 'q', false, "print the ids only"}};
constexpr OciOption kSpecOptions[] = {
    {"bundle", 'b', true, "where to write config.json (default: the current directory)", "DIR"},
    {"rootless", '\0', false, "not supported yet"}};

constexpr OciCommandSpec kCommands[] = {
    {"create", "[OPTIONS] ID", "set up ID; its program waits for start",
     "Sets the container up from DIR/config.json (default: the current directory) and leaves\n"
     "its program waiting until `start`. --pid-file receives the container's pid. With\n"
     "process.terminal, the pty master is sent to --console-socket.",
     kCreateOptions, 1, 1},
    {"start",
     "ID",
     "let a created container's program run",
     "Lets the program of a created container run.",
     {},
     1,
     1},
    {"run", "[OPTIONS] ID", "create + start + wait; exits as the program",
     "Creates and starts ID, waits for it and exits with its status (128+N for signal N).\n"
     "SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to it; its state is\n"
     "removed at the end. --detach returns once it runs. With process.terminal, the caller's\n"
     "terminal is relayed (raw) to the container's pty, or with -d the pty master is sent to\n"
     "--console-socket.",
     kCreateOptions, 1, 1},
    {"exec", "[OPTIONS] ID [COMMAND [ARGS...]]", "run a new process in a container",
     "Runs COMMAND (or the process of --process FILE) in ID's namespaces, cgroup and root,\n"
     "with the container's process settings; --env, --cwd, --user, --cap, ... override them.\n"
     "Waits and exits with its status (128+N for signal N), forwarding signals as `run` does;\n"
     "--detach returns once it runs.",
     kExecOptions, 1, SIZE_MAX},
    {"state", "ID", "print the state JSON", "Prints the state of ID as JSON.", {}, 1, 1},
    {"kill", "[--all] ID [SIGNAL]", "send SIGNAL (default SIGTERM)",
     "Sends SIGNAL (name like TERM or SIGKILL, or a number; default SIGTERM) to ID's process;\n"
     "--all: to every process in its cgroup (succeeds after the container exited).",
     kKillOptions, 1, 2},
    {"pause",
     "ID",
     "freeze every process of ID",
     "Freezes the container's cgroup (cgroup.freeze); its status becomes paused.",
     {},
     1,
     1},
    {"resume",
     "ID",
     "thaw a paused container",
     "Thaws the container's cgroup; its status is running again.",
     {},
     1,
     1},
    {"update", "[OPTIONS] ID", "change the cgroup limits of ID",
     "Merges --resources (a linux.resources JSON object, '-' for stdin) or the flags into the\n"
     "container's resources and writes them to its cgroup.",
     kUpdateOptions, 1, 1},
    {"ps", "[--format table|json] ID [PS ARGS...]", "list the processes of ID",
     "Lists the processes in the container's cgroup: json prints their pids ([1,2]); table\n"
     "runs ps (default: ps -ef) and keeps the lines of those pids.",
     kPsOptions, 1, SIZE_MAX},
    {"delete", "[OPTIONS] ID", "remove a stopped (or, forced, any) container",
     "Removes a stopped container, or a created one (its program never ran). --force also\n"
     "SIGKILLs a running one and waits for it to die.",
     kDeleteOptions, 1, 1},
    {"list", "[OPTIONS]", "list the containers", "Lists the containers under --root.", kListOptions,
     0, 0},
    {"features",
     "",
     "print the OCI features JSON",
     "Prints the OCI features JSON of this build.",
     {},
     0,
     0},
    {"spec", "[OPTIONS] [-- ARGS...]", "write a default config.json (ARGS: sh)",
     "Writes DIR/config.json (default: the current directory) with podshim's defaults and\n"
     "ARGS as process.args (default: sh). Refuses to overwrite an existing config.json.",
     kSpecOptions, 0, SIZE_MAX},
};

// A CommandLine in runc's style whose options fill an OciArgs.
class OciLine {
 public:
  OciLine(std::string name, std::string_view usage, std::string_view description)
      : line_(std::move(name), std::string(usage), std::string(description), FlagStyle::kRunc) {}

  // Adds `options` (skipping names taken already: a command's own option wins over a global).
  void Add(std::span<const OciOption> options, const std::string& group = "options") {
    for (const OciOption& o : options) {
      const std::string name(o.name);
      if (taken_.contains(name)) continue;
      taken_.insert(name);
      std::string names = "--" + name;
      if (o.short_name != '\0') names = std::string("-") + o.short_name + "," + names;
      AddedOption added = o.takes_value
                              ? line_.Value(names, std::string(o.value_name), std::string(o.help),
                                            [this, name](const std::string& v) -> Status {
                                              result_.values[name] = v;
                                              result_.lists[name].push_back(v);
                                              return Ok();
                                            })
                              : line_.Flag(names, std::string(o.help), &flags_[name]);
      added.Group(group);
    }
  }

  Result<OciArgs> Parse(std::span<char* const> args) {
    ParsedLine parsed = PODSHIM_TRY(line_.Parse(args));
    for (const auto& [name, set] : flags_) {
      if (set) result_.flags.insert(name);
    }
    result_.positional = std::move(parsed.positional);
    result_.help = parsed.help;
    return std::move(result_);
  }

  CommandLine& line() { return line_; }

 private:
  CommandLine line_;
  std::set<std::string> taken_;
  std::map<std::string, bool> flags_;  // map nodes stay put: CLI11 holds pointers to the bools
  OciArgs result_;
};

std::unique_ptr<OciLine> GlobalLine() {
  auto line = std::make_unique<OciLine>(
      "podshim oci", "[GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]",
      "runc-compatible runtime for single OCI bundles (state under --root, default "
      "/run/podshim-oci)");
  line->Add(kGlobalOptions, "global options (also after the command)");
  line->Add({&kVersionOption, 1});
  line->line().HelpAnywhere(false);
  for (const OciCommandSpec& c : kCommands) {
    line->line().Subcommand(std::string(c.name), std::string(c.summary));
  }
  line->line().Footer("`podshim oci COMMAND --help` for details.");
  return line;
}

std::unique_ptr<OciLine> CommandLineOf(const OciCommandSpec& command) {
  auto line = std::make_unique<OciLine>("podshim oci " + std::string(command.name), command.usage,
                                        command.description);
  line->Add(command.options);
  line->Add(kGlobalOptions, "global options");
  return line;
}

}  // namespace

std::string OciArgs::Value(std::string_view name, std::string fallback) const {
  auto it = values.find(std::string(name));
  return it == values.end() ? std::move(fallback) : it->second;
}

std::vector<std::string> OciArgs::Values(std::string_view name) const {
  auto it = lists.find(std::string(name));
  return it == lists.end() ? std::vector<std::string>{} : it->second;
}

std::span<const OciCommandSpec> OciCommands() { return kCommands; }

const OciCommandSpec* FindOciCommand(std::string_view name) {
  for (const OciCommandSpec& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<OciArgs> ParseOciArgs(std::span<char* const> args, std::span<const OciOption> options) {
  OciLine line("podshim oci", "", "");
  line.Add(options);
  return line.Parse(args);
}

Result<OciArgs> ParseOciGlobal(std::span<char* const> args) { return GlobalLine()->Parse(args); }

Result<OciArgs> ParseOciCommand(const OciCommandSpec& command, std::span<char* const> args) {
  OciArgs parsed = PODSHIM_TRY(CommandLineOf(command)->Parse(args));
  if (parsed.help) return parsed;
  if (parsed.positional.size() < command.min_args) {
    return Error::Invalid("missing argument (see --help)");
  }
  if (parsed.positional.size() > command.max_args) {
    return Error::Invalid("unexpected argument " + Quoted(parsed.positional[command.max_args]));
  }
  return parsed;
}

std::string OciHelp() { return GlobalLine()->line().Help(); }

std::string OciCommandHelp(const OciCommandSpec& command) {
  return CommandLineOf(command)->line().Help();
}

}  // namespace podshim::shim
