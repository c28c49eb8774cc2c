// The foreground side of a container terminal (`podshim oci run` with process.terminal): the
// caller's terminal goes raw while the pty master's bytes are copied both ways, window-size
// changes (SIGWINCH) follow the caller's terminal, until the container's process exits.
#pragma once

#include <termios.h>

#include <functional>

#include "common/result.h"

namespace podshim::shim {

// Puts a terminal into raw mode (cfmakeraw) and restores its settings when destroyed, so the
// caller's terminal is given back on every path out (errors included). A no-op when `fd` is
// not a terminal.
class RawTerminal {
 public:
  static Result<RawTerminal> Enter(int fd);
  RawTerminal(RawTerminal&& o) noexcept;
  RawTerminal& operator=(RawTerminal&&) = delete;
  RawTerminal(const RawTerminal&) = delete;
  ~RawTerminal();

 private:
  RawTerminal() = default;
  int fd_ = -1;  // -1: nothing to restore
  struct termios saved_ {};
};

// Sets `to`'s window size to `from`'s when `from` is a terminal with a size (a no-op otherwise).
void CopyWindowSize(int from, int to);

struct RelayFds {
  int master = -1;     // the container's pty master
  int pidfd = -1;      // the container's process: the relay ends once it exits
  int signal_fd = -1;  // signalfd: SIGWINCH resizes; any other signal goes to `forward`
  int in = 0;          // the caller's terminal (or any readable fd)
  int out = 1;
};

// Copies `in` to the master and the master to `out` until the process exits, then what the
// master still holds. SIGWINCH copies `in`'s window size to the master (the caller copies it
// once before the program runs: CopyWindowSize). EOF on `in` stops reading it; a closed `out` drops
// the output (the container is never blocked by it). Returns once the pidfd is readable; the caller
// reaps.
Status RelayTerminal(const RelayFds& fds, const std::function<void(int)>& forward);

}  // namespace podshim::shim
