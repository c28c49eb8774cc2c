// Detaching a long-running process from its caller, the classic double fork of daemon(7): the
// caller keeps a close-on-exec pipe on which the daemon reports, the daemon runs in a session of
// its own (never the caller's child), with stdio on /dev/null, cwd "/", default signal handling
// and no fd of the caller's but its end of the pipe.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::daemon {

struct Detached {
  bool in_daemon = false;
  // In the caller: the read end (EOF once the daemon closed its end or died). In the daemon:
  // the write end. Both are close-on-exec.
  UniqueFd channel;
};

// Forks an intermediate process that calls setsid() and forks the daemon, then exits; the
// caller reaps it before Detach() returns. Returns in the caller and in the daemon; the
// intermediate process never returns. In the daemon: fds 0-2 are /dev/null, every other fd but
// the channel is closed, the signal mask is empty and every disposition is SIG_DFL. Call it
// before opening anything the daemon needs; flush stdio first (buffered output is duplicated).
Result<Detached> Detach();

// Writes `line` and a newline to `fd`. A reader that went away is an EPIPE error, never a death
// by SIGPIPE (the signal is blocked around the write and a pending one discarded).
Status SendLine(int fd, std::string_view line);

}  // namespace podshim::daemon
