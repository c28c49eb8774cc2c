// Signal names <-> numbers, as `podshim oci kill` and the manifest's stop signal spell them.
// Accepts what runc accepts: "SIGTERM", "TERM", any letter case, decimal numbers ("15"), and the
// realtime forms "SIGRTMIN", "RTMIN+3", "SIGRTMAX-2". Pure; no I/O.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace podshim::signals {

// Parses a signal given by name or number. Names are case-insensitive, the "SIG" prefix is
// optional, aliases (IOT, CLD, POLL) are accepted. Numbers must be in 1..SIGRTMAX (signal 0,
// "does the process exist", is rejected: it is not a signal one can send to stop something).
// RTMIN+N / RTMAX-N must stay within SIGRTMIN..SIGRTMAX (glibc's SIGRTMIN is 34, not 32: glibc
// reserves 32 and 33 for itself). Errors are kInvalidSpec naming the input.
Result<int> ParseSignal(std::string_view text);

// The canonical name: "SIGTERM", "SIGRTMIN", "SIGRTMIN+3" (realtime signals are always given
// relative to SIGRTMIN). A number with no name (0, 32, 33, out of range) is returned in decimal,
// e.g. "32", so that ParseSignal(SignalName(n)) == n for every sendable n.
std::string SignalName(int sig);

}  // namespace podshim::signals
