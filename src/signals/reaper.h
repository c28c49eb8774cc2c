// Reaper: collects the exit of every child (and of every orphan the kernel re-parents to us as
// child subreaper, prctl PR_SET_CHILD_SUBREAPER, so a container's double-forked daemons do not
// escape or pile up as zombies). Built on waitid(P_ALL, WEXITED | WNOHANG).
#pragma once

#include <optional>
#include <vector>

#include "common/result.h"
#include "signals/exit_event.h"

namespace podshim::signals {

// Makes the calling process a child subreaper (Linux 3.4): orphaned descendants are re-parented
// to it instead of to init. Process-wide; inherited by neither fork nor exec.
Status BecomeSubreaper();
Result<bool> IsSubreaper();

// Reaps one exited child if there is one; nullopt when no child has exited yet or there are no
// children at all (ECHILD). Never blocks.
Result<std::optional<ExitEvent>> ReapOne();

// Reaps until nothing is left. Call it for every SIGCHLD read: signals collapse, so one SIGCHLD
// may stand for many exits. Returns the exits in the order the kernel gave them.
//
// It reaps *every* child, including processes that other code waits for by pid or pidfd: in a
// process that uses the reaper, all exits must be consumed from its result.
Result<std::vector<ExitEvent>> ReapAll();

}  // namespace podshim::signals
