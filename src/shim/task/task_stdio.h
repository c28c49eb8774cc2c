// The stdio of a task: containerd's FIFOs (or /dev/null for an empty path) opened without
// blocking on a missing peer, as blocking fds for the container. The shim closes its copies
// once the container holds them, so the reader of stdout sees EOF when the container exits.
// stdin is not passed through: the process reads a pipe the shim pumps the FIFO into.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim::task {

struct TaskStdio {
  UniqueFd in;
  UniqueFd out;
  UniqueFd err;
};

// stdin: O_RDONLY (a FIFO opens at once with O_NONBLOCK, which is then cleared); stdout and
// stderr: O_WRONLY, or O_RDWR when no reader has the FIFO open yet (O_WRONLY would block or
// fail with ENXIO). Empty paths give /dev/null. Errors name the stream and path.
Result<TaskStdio> OpenTaskStdio(const std::string& stdin_path, const std::string& stdout_path,
                                const std::string& stderr_path);

// A terminal task's FIFOs for the shim's relay: opened as above but left non-blocking, and an
// empty path gives no fd (`err` is never opened: the pty carries both outputs).
Result<TaskStdio> OpenTerminalFifos(const std::string& stdin_path, const std::string& stdout_path);

// A stdin FIFO the shim pumps into a pipe: the FIFO's read end (non-blocking, the pump's), a
// write handle that keeps the FIFO's reader from seeing EOF until it is closed (CloseIO), and
// the pipe: its read end for the process (blocking), its write end for the pump (non-blocking).
struct PumpedStdin {
  UniqueFd fifo;
  UniqueFd keep;
  UniqueFd process_end;
  UniqueFd pump_end;
};
Result<PumpedStdin> OpenPumpedStdin(const std::string& path);

// A write handle (O_WRONLY, non-blocking) on a FIFO whose reader the shim already holds.
Result<UniqueFd> OpenFifoKeeper(const std::string& path);

}  // namespace podshim::shim::task
