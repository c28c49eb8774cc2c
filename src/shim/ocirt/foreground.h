// What `podshim oci run` and `exec` do while they stay in the foreground: block the signals
// they forward (runc's set, plus SIGWINCH for a terminal) before the process exists, pass them
// on until it exits (or relay its terminal), then reap it and decode its status.
#pragma once

#include <signal.h>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim {

// Blocks SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH (the mask before goes to
// `old`; the launcher gives the process an empty mask) and returns a non-blocking signalfd of them.
Result<UniqueFd> BlockForwardedSignals(sigset_t* old);

// Until the process behind `pidfd` exits: each signal read from `sfd` is sent to it, except
// SIGWINCH (only a terminal follows the caller's size; runc does not forward it either).
Status ForwardUntilExit(int pidfd, int sfd);

// The same with a terminal: stdin is copied to `master` and the master to stdout, SIGWINCH
// resizes the master (shim/ocirt/tty_relay.h), the other signals go to the process.
Status RelayUntilExit(int master, int pidfd, int sfd);

// Reaps the exited process (waitid P_PIDFD): its exit status, or 128+N for signal N.
Result<int> ReapExitStatus(int pidfd);

}  // namespace podshim::shim
