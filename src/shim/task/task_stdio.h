// The stdio of a task: containerd's FIFOs (or /dev/null for an empty path) opened without
// blocking on a missing peer, as blocking fds for the container. The shim closes its copies
// once the container holds them, so the reader of stdout sees EOF when the container exits.
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

}  // namespace podshim::shim::task
