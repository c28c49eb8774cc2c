// Leveled one-line logging to stderr without spdlog, for the containerd shim's resident process:
// it runs one pod for its whole life, so it links neither spdlog nor fmt (docs/decisions.md).
// Lines read `podshim-shim: warning: ttrpc: accept failed: ...`; debug lines need SetDebug(true).
#pragma once

#include <string_view>

namespace podshim::line_log {

enum class Level { kDebug, kWarning, kError };

void SetDebug(bool on);
bool DebugEnabled();
// Writes one line (a newline is added) at `level`; debug lines only when enabled.
void Write(Level level, std::string_view line);

inline void Debug(std::string_view line) { Write(Level::kDebug, line); }
inline void Warn(std::string_view line) { Write(Level::kWarning, line); }
inline void Error(std::string_view line) { Write(Level::kError, line); }

}  // namespace podshim::line_log
