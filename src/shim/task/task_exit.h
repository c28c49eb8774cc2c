// How a task's end reads on the wire: the exit status containerd expects (the code, or 128+N
// after signal N, as runc's shim reports it) and google.protobuf.Timestamp values.
#pragma once

#include <chrono>

#include "shim/proto/wire_types.pb.h"

namespace podshim::shim::task {

using WallTime = std::chrono::system_clock::time_point;

// A waitpid() status as an exit status: WEXITSTATUS, or 128+N after signal N.
int ExitStatusFromWait(int wait_status);

// Fills `out` (seconds and nanoseconds since the epoch).
void SetTimestamp(WallTime t, podshim::wire::Timestamp* out);

}  // namespace podshim::shim::task
