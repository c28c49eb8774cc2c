// How a task's end reads on the wire: google.protobuf.Timestamp values (the exit status itself
// is signals::ExitEvent's: the code, or 128+N after signal N, as runc's shim reports it).
#pragma once

#include <chrono>

#include "shim/proto/wire_types.pb.h"

namespace podshim::shim::task {

using WallTime = std::chrono::system_clock::time_point;

// Fills `out` (seconds and nanoseconds since the epoch).
void SetTimestamp(WallTime t, podshim::wire::Timestamp* out);

}  // namespace podshim::shim::task
