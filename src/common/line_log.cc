#include "common/line_log.h"

#include <cstdio>

namespace podshim::line_log {
namespace {

bool debug_enabled = false;

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "error";
}

}  // namespace

void SetDebug(bool on) { debug_enabled = on; }
bool DebugEnabled() { return debug_enabled; }

void Write(Level level, std::string_view line) {
  if (level == Level::kDebug && !debug_enabled) return;
  std::fprintf(stderr, "podshim-shim: %s: %.*s\n", LevelName(level), static_cast<int>(line.size()),
               line.data());
}

}  // namespace podshim::line_log
