// `containerd-shim-podshim-v2 -id ID -bundle DIR delete`: containerd runs it after every task and
// after a shim crash. It touches only task ID (never the pod's shim or its other tasks) and
// prints a protobuf DeleteResponse with the task's real exit status from its exit record; after a
// crash of the shim server, an OOM kill the record marks is published as TaskOOM first.
#pragma once

#include "shim/shimv2/shim_flags.h"

namespace podshim::shim::shimv2 {

// The process exit status: 0 with the response on stdout; 1 with one line on stderr.
int RunDelete(const ShimFlags& flags);

}  // namespace podshim::shim::shimv2
