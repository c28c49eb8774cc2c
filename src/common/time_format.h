// Timestamps as users and tools expect them: RFC 3339 in UTC with nanoseconds
// ("2026-11-22T11:19:20.123456789Z"), as in events, CRI log lines and status.
#pragma once

#include <chrono>
#include <string>

namespace podshim {

std::string FormatRfc3339Nano(std::chrono::system_clock::time_point t);

}  // namespace podshim
