// Durations written as kubelet writes them ("200ms", "10s", "5m", "1m30s", "1h"), parsed to
// std::chrono and formatted back. Pure.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace podshim {

// Units: ns, us, ms, s, m, h; a sequence of number+unit pairs; "0" alone is zero.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace podshim
