#include "shim/cli/pod_flags.h"

#include <functional>
#include <string>

#include "cgroups/cgroup_fs.h"
#include "common/duration.h"
#include "common/quoted.h"
#include "shim/cli/command_line.h"
#include "shim/cli/resource_flags.h"

namespace podshim::shim {
namespace {

// The pod id names the state dir (/run/podshim/<id>) and the cgroup (pod-<id>): the characters
// of an OCI container id, and short enough that "pod-<id>" is a valid file name.
Status CheckPodId(std::string_view id) {
  if (id == "." || id == "..") return Error::Invalid("--id: invalid pod id " + Quoted(id));
  if (id.size() > 251) return Error::Invalid("--id: longer than 251 bytes");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) {
      return Error::Invalid("--id: invalid pod id " + Quoted(id) +
                            ": only letters, digits, '_', '+', '-' and '.' are allowed");
    }
  }
  return Ok();
}

// A value option of run/start: refused when empty, then checked by `check` (if any).
void AddPodValue(CommandLine& line, const std::string& name, const std::string& value_name,
                 const std::string& help, std::string* target,
                 std::function<Status(const std::string&)> check = nullptr) {
  line.Value(name, value_name, help, [name, target, check](const std::string& v) -> Status {
    if (v.empty()) return Error::Invalid(name + ": empty value");
    if (check) PODSHIM_TRY(check(v));
    *target = v;
    return Ok();
  });
}

void AddDuration(CommandLine& line, const std::string& name, const std::string& help,
                 std::chrono::nanoseconds* target) {
  line.Value(name, "DURATION", help, [name, target](const std::string& v) -> Status {
    *target = PODSHIM_TRY_WRAP(ParseDuration(v), name);
    return Ok();
  });
}

// The command line of `run` or `start`, writing into *o.
struct PodLine {
  PodLine(PodCommand command, PodOptions* o);
  CommandLine line;
};

PodLine::PodLine(PodCommand command, PodOptions* o)
    : line(command == PodCommand::kStart ? "podshim start" : "podshim run", "[options] MANIFEST",
           command == PodCommand::kStart
               ? "runs the pod detached; prints the control socket path once it listens"
               : "runs the pod in the foreground until it finishes") {
  AddPodValue(line, "--id", "ID", "pod id (default: metadata.name)", &o->id,
              [](const std::string& v) { return CheckPodId(v); });
  AddPodValue(line, "--state-dir", "DIR", "default /run/podshim/<id>", &o->state_dir);
  AddPodValue(line, "--cgroup-parent", "PATH", "relative to the cgroup2 mount (default podshim)",
              &o->cgroup_parent, [](const std::string& v) -> Status {
                (void)PODSHIM_TRY_WRAP(cgroups::CgroupPath::Parse(v), "--cgroup-parent");
                return Ok();
              });
  AddPodValue(line, "--log-dir", "DIR", "container logs (default <state-dir>/logs)", &o->log_dir);
  AddPodValue(line, "--log-level", "LEVEL", "trace|debug|info|warn|error|off (default info)",
              &o->log_level);
  AddDuration(line, "--backoff-initial", "first restart delay (default 10s)", &o->backoff_initial);
  AddDuration(line, "--backoff-max", "longest restart delay (default 300s)", &o->backoff_max);
  line.Flag("--cgroup-required", "fail when cpu, memory, pids are not available",
            &o->cgroup_required);
  line.Flag("--recover",
            "take back the running pod of a shim of this state dir that died, instead of "
            "stopping it",
            &o->recover);
  if (command == PodCommand::kStart) {
    AddPodValue(line, "--pid-file", "PATH", "the shim's pid (default <state-dir>/podshim.pid)",
                &o->pid_file);
  }
  AddResourceFlags(line, &o->values);
}

}  // namespace

std::string PodUsage(PodCommand command) {
  PodOptions unused;
  return PodLine(command, &unused).line.Help();
}

Result<PodCommandLine> ParsePodOptions(std::span<char* const> args, PodCommand command) {
  PodCommandLine out;
  PodLine pod(command, &out.options);
  ParsedLine parsed = PODSHIM_TRY(pod.line.Parse(args.empty() ? args : args.subspan(1)));
  out.help = parsed.help;
  if (out.help) return out;
  if (parsed.positional.size() != 1) {
    return Error::Invalid("expected one MANIFEST argument (options come first)");
  }
  out.options.manifest = parsed.positional.front();
  return out;
}

void PrintPodError(std::string_view command, const Error& e) {
  PrintErrorLines("podshim " + std::string(command) + ": ", e);
}

}  // namespace podshim::shim
