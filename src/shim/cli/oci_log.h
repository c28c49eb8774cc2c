// runc's `--log FILE --log-format text|json` for `podshim oci`: errors also go to FILE as one
// line each, as runc writes them, because containerd's runc shim reads a failed create's or
// exec's reason only from the last `{"level":"error","msg":...}` line of that file.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace podshim::shim {

// Sets the log for this process: creates FILE (appending, 0644) so a bad path fails at once.
// An empty path turns the log off. Format: "text" or "json" (the caller checks).
Status ConfigureOciLog(const std::string& path, std::string_view format);

// The line for `msg` at `time` (RFC 3339, seconds): json {"level":"error","msg":...,"time":...},
// text `time="..." level=error msg="..."`. Pure, for tests.
std::string OciLogLine(std::string_view format, std::string_view msg, std::string_view time);

// Appends an error line to the configured log, if any; failures to write are ignored (the error
// is on stderr already).
void OciLogError(std::string_view msg);

}  // namespace podshim::shim
