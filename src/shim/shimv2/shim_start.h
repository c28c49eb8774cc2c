// `containerd-shim-podshim-v2 ... start`: answers the address of the shim serving the task's
// group, starting that shim (a detached daemon) when none runs yet. Prints only
// `unix:///run/containerd/s/<hash>` on stdout (containerd reads stdout and stderr to EOF and
// takes all of it as the address) and writes it to <bundle>/address.
#pragma once

#include "shim/shimv2/shim_flags.h"

namespace podshim::shim::shimv2 {

// The process exit status: 0 once a shim serves the group; 1 with one line on stderr otherwise.
int RunStart(const ShimFlags& flags);

}  // namespace podshim::shim::shimv2
