// The command line shared by `podshim run` and `podshim start` (DESIGN.md "Command line"):
// options before the MANIFEST, "--opt=value" or "--opt value", the resource switches of
// SEMANTICS.md section 10. The options themselves are plain data in shim/run/pod_options.h.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "shim/run/pod_options.h"

namespace podshim::shim {

// Which command the options are for: `start` also takes --pid-file.
enum class PodCommand { kRun, kStart };

// The usage text of the command (its options, without the resource switches).
std::string_view PodUsage(PodCommand command);

// True when -h or --help comes before "--".
bool WantsHelp(std::span<char* const> args);

// args[0] is the command name. Errors (kInvalidSpec) name the option.
Result<PodOptions> ParsePodOptions(std::span<char* const> args, PodCommand command);

// Prints every line of the error as "podshim <command>: <line>" on stderr.
void PrintPodError(std::string_view command, const Error& e);

}  // namespace podshim::shim
