// The command line shared by `podshim run` and `podshim start` (DESIGN.md "Command line"):
// options before the MANIFEST, "--opt=value" or "--opt value", the resource switches of
// SEMANTICS.md section 10, and where the pod's id, state dir and log dir default to.
#pragma once

#include <chrono>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "cgroups/cgroup_values.h"
#include "common/result.h"
#include "shim/manifest.h"

namespace podshim::shim {

// Which command the options are for: `start` also takes --pid-file.
enum class PodCommand { kRun, kStart };

struct PodOptions {
  std::string id;
  std::string state_dir;
  std::string cgroup_parent = "podshim";
  std::string log_dir;
  std::string log_level = "info";
  std::chrono::nanoseconds backoff_initial = std::chrono::seconds(10);
  std::chrono::nanoseconds backoff_max = std::chrono::seconds(300);
  bool cgroup_required = false;
  cgroups::CgroupValueOptions values;
  std::string pid_file;  // start only; empty: <state-dir>/podshim.pid
  std::string manifest;
};

// The usage text of the command (its options, without the resource switches).
std::string_view PodUsage(PodCommand command);

// True when -h or --help comes before "--".
bool WantsHelp(std::span<char* const> args);

// args[0] is the command name. Errors (kInvalidSpec) name the option.
Result<PodOptions> ParsePodOptions(std::span<char* const> args, PodCommand command);

// The pod's id, state dir and container log dir once the manifest is known.
struct PodPaths {
  std::string id;                   // --id, else metadata.name
  std::filesystem::path state_dir;  // --state-dir, else /run/podshim/<id>
  std::filesystem::path log_dir;    // --log-dir, else <state-dir>/logs
};
PodPaths ResolvePodPaths(const PodOptions& o, const Pod& pod);

// Prints every line of the error as "podshim <command>: <line>" on stderr.
void PrintPodError(std::string_view command, const Error& e);

}  // namespace podshim::shim
