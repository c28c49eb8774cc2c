// The command line shared by `podshim run` and `podshim start` (DESIGN.md "Command line"):
// options before the MANIFEST, "--opt=value" or "--opt value", the resource switches of
// SEMANTICS.md section 10; declared once for CLI11, which also writes the help. The options
// themselves are plain data in shim/run/pod_options.h.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "shim/run/pod_options.h"

namespace podshim::shim {

// Which command the options are for: `start` also takes --pid-file.
enum class PodCommand { kRun, kStart };

// The help text of the command, every option included.
std::string PodUsage(PodCommand command);

struct PodCommandLine {
  bool help = false;  // -h or --help before "--": print PodUsage, nothing else was checked
  PodOptions options;
};

// args[0] is the command name. Errors (kInvalidSpec) name the option.
Result<PodCommandLine> ParsePodOptions(std::span<char* const> args, PodCommand command);

// Prints every line of the error as "podshim <command>: <line>" on stderr.
void PrintPodError(std::string_view command, const Error& e);

}  // namespace podshim::shim
