// StdinPumps: where the task service hands a process's stdin over to be pumped (containerd's
// stdin FIFO -> the process's stdin pipe) when it has no terminal. The shim binary's one lives
// on its Asio loop (shim/shimv2/stdin_pump.h); unit tests record the calls. The pump closes the
// pipe once the FIFO reads EOF and what it read is written: the process's stdin EOF (CloseIO).
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim::task {

class StdinPumps {
 public:
  virtual ~StdinPumps() = default;
  // Starts pumping for process `key` (a task id, or "<id>/<exec id>"); takes both fds
  // (non-blocking). An error leaves nothing running.
  virtual Status Start(const std::string& key, UniqueFd fifo, UniqueFd pipe) = 0;
  // Delete: stops at once and closes both fds. Unknown keys are ignored.
  virtual void Stop(const std::string& key) = 0;
};

}  // namespace podshim::shim::task
