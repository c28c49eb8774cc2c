#include "shim/cli/pod_flags.h"

#include <cstdio>
#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

#include "cgroups/cgroup_fs.h"
#include "common/duration.h"
#include "common/quoted.h"
#include "shim/cli/resource_flags.h"

namespace podshim::shim {
namespace {

constexpr const char kCommonUsage[] =
    "  --id ID                 pod id (default: metadata.name)\n"
    "  --state-dir DIR         default /run/podshim/<id>\n"
    "  --cgroup-parent PATH    relative to the cgroup2 mount (default podshim)\n"
    "  --log-dir DIR           container logs (default <state-dir>/logs)\n"
    "  --log-level LEVEL       trace|debug|info|warn|error|off (default info)\n"
    "  --backoff-initial DUR   first restart delay (default 10s)\n"
    "  --backoff-max DUR       longest restart delay (default 300s)\n"
    "  --cgroup-required       fail when cpu, memory, pids are not available\n";

// "--opt=value" or "--opt value" for the options in `names`; nullopt when args[*i] is not one
// of them.
Result<std::optional<std::pair<std::string, std::string>>> TakeValue(
    std::span<char* const> args, size_t* i, std::initializer_list<std::string_view> names) {
  std::string_view arg = args[*i];
  for (std::string_view name : names) {
    if (arg == name) {
      if (*i + 1 >= args.size()) return Error::Invalid(std::string(name) + ": missing value");
      std::string value = args[*i + 1];
      *i += 2;
      return std::optional(std::pair{std::string(name), value});
    }
    if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
      *i += 1;
      return std::optional(std::pair{std::string(name), std::string(arg.substr(name.size() + 1))});
    }
  }
  return std::optional<std::pair<std::string, std::string>>();
}

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

}  // namespace

std::string_view PodUsage(PodCommand command) {
  static const std::string run =
      std::string("usage: podshim run [options] MANIFEST\n") + kCommonUsage;
  static const std::string start =
      std::string(
          "usage: podshim start [options] MANIFEST\n"
          "  runs the pod detached; prints the control socket path once it listens\n") +
      kCommonUsage + "  --pid-file PATH         the shim's pid (default <state-dir>/podshim.pid)\n";
  return command == PodCommand::kStart ? start : run;
}

bool WantsHelp(std::span<char* const> args) {
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "-h" || a == "--help") return true;
    if (a == "--") break;
  }
  return false;
}

Result<PodOptions> ParsePodOptions(std::span<char* const> args, PodCommand command) {
  PodOptions o;
  std::vector<std::string> positional;
  std::initializer_list<std::string_view> run_names = {
      "--id",        "--state-dir",       "--cgroup-parent", "--log-dir",
      "--log-level", "--backoff-initial", "--backoff-max"};
  std::initializer_list<std::string_view> start_names = {
      "--id",        "--state-dir",       "--cgroup-parent", "--log-dir",
      "--log-level", "--backoff-initial", "--backoff-max",   "--pid-file"};
  size_t i = 1;
  while (i < args.size()) {
    std::string_view arg = args[i];
    if (arg == "--") {
      for (++i; i < args.size(); ++i) positional.emplace_back(args[i]);
      break;
    }
    if (!arg.starts_with("-")) {
      for (; i < args.size(); ++i) positional.emplace_back(args[i]);
      break;
    }
    if (arg == "--cgroup-required") {
      o.cgroup_required = true;
      ++i;
      continue;
    }
    auto kv =
        PODSHIM_TRY(TakeValue(args, &i, command == PodCommand::kStart ? start_names : run_names));
    if (kv) {
      auto& [name, value] = *kv;
      if (name == "--id") o.id = value;
      if (name == "--state-dir") o.state_dir = value;
      if (name == "--cgroup-parent") o.cgroup_parent = value;
      if (name == "--log-dir") o.log_dir = value;
      if (name == "--log-level") o.log_level = value;
      if (name == "--pid-file") o.pid_file = value;
      if (name == "--backoff-initial") {
        o.backoff_initial = PODSHIM_TRY_WRAP(ParseDuration(value), "--backoff-initial");
      }
      if (name == "--backoff-max") {
        o.backoff_max = PODSHIM_TRY_WRAP(ParseDuration(value), "--backoff-max");
      }
      if (value.empty()) return Error::Invalid(name + ": empty value");
      if (name == "--id") PODSHIM_TRY(CheckPodId(value));
      if (name == "--cgroup-parent") {
        (void)PODSHIM_TRY_WRAP(cgroups::CgroupPath::Parse(value), "--cgroup-parent");
      }
      continue;
    }
    if (PODSHIM_TRY(ConsumeResourceFlag(args, &i, &o.values))) continue;
    return Error::Invalid("unknown option " + std::string(arg));
  }
  if (positional.size() != 1) {
    return Error::Invalid("expected one MANIFEST argument (options come first)");
  }
  o.manifest = positional.front();
  return o;
}

void PrintPodError(std::string_view command, const Error& e) {
  std::string text = e.ToString();
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::fprintf(stderr, "podshim %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
                 static_cast<int>(end - start), text.data() + start);
    start = end + 1;
  }
}

}  // namespace podshim::shim
