#include "shim/pod/probe_outcome.h"

#include <string_view>
#include <utility>

namespace podshim::shim {

ProbeOutcome InterpretExecProbeExit(const ExecProbeExit& exit, std::chrono::seconds timeout) {
  if (exit.timed_out) return {false, "timed out after " + FormatTimeout(timeout)};
  // Trailing newlines of the output would end up inside the one-line event message.
  std::string_view output = exit.output;
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r' ||
                             output.back() == ' ' || output.back() == '\t')) {
    output.remove_suffix(1);
  }
  if (exit.exit_code == 0) return {true, std::string(output)};
  std::string msg = "command exited with code " + std::to_string(exit.exit_code);
  if (!output.empty()) msg += ": " + std::string(output);
  return {false, std::move(msg)};
}

std::string FormatTimeout(std::chrono::steady_clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + "s";
  return std::to_string(ms.count()) + "ms";
}

}  // namespace podshim::shim
