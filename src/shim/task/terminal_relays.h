// TerminalRelays: where the task service hands a terminal task's pty over to be relayed (stdin
// FIFO -> master, master -> stdout FIFO). The shim binary's one lives on its Asio loop
// (shim/shimv2/terminal_relay.h); unit tests record the calls. The service keeps its own copy
// of the master for ResizePty.
#pragma once

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim::task {

class TerminalRelays {
 public:
  virtual ~TerminalRelays() = default;
  // Starts relaying for task `id`; takes the fds (`in`, `out` may be empty: nothing to read,
  // output discarded). An error leaves nothing running.
  virtual Status Start(const std::string& id, UniqueFd master, UniqueFd in, UniqueFd out) = 0;
  // The task's init exited: the relay ends once the master is drained (EIO), at the latest
  // after a short grace, closing the stdout FIFO so that its reader sees EOF.
  virtual void TaskExited(const std::string& id) = 0;
  // Delete: stops at once and closes every fd of the task's relay. Unknown ids are ignored.
  virtual void Stop(const std::string& id) = 0;
};

}  // namespace podshim::shim::task
