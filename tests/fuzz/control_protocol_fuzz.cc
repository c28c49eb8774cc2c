// libFuzzer target: the control API's wire format, both directions (ParseRequest on what a
// client sends, ParseResponse and the typed result parsers on what a shim answers).
// Built with -DPODSHIM_FUZZ=ON (tests/fuzz/CMakeLists.txt); run by scripts/fuzz.sh.
// Properties checked besides crashes: a parsed request formats to a line that parses back to the
// same request, and a request's id is echoed unchanged by a response line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "shim/control/control_protocol.h"

namespace control = podshim::shim::control;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);

  control::ParsedRequest parsed = control::ParseRequest(line);
  if (parsed.request) {
    control::ParsedRequest again = control::ParseRequest(control::FormatRequest(*parsed.request));
    if (!again.request || *again.request != *parsed.request) std::abort();
  }
  std::string error_line =
      control::FormatError(parsed.id, {control::ErrorCode::kBadRequest, "fuzz"});
  auto echoed = control::ParseResponse(error_line);
  if (!echoed || echoed->id != parsed.id) std::abort();

  auto response = control::ParseResponse(line);
  if (response && response->result) {
    const std::string& result = *response->result;
    (void)control::ParseStopResult(result);
    (void)control::ParseKillResult(result);
    (void)control::ParseExecResult(result);
    (void)control::ParseStatsResult(result);
    (void)control::ParseEventsStreamItem(result);
  }
  (void)control::FormatStatusResponse(parsed.id, line);
  return 0;
}
