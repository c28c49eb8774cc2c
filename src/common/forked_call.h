// RunInForkedChild: runs one step in a short-lived forked child and returns its Status. A
// resident process (the containerd shim) uses it for work that touches much code once, such as
// creating a container: the child's page faults fill the child's page tables, not the caller's,
// so the caller's resident set stays what its loop needs. The caller must be single-threaded.
#pragma once

#include <functional>

#include "common/result.h"

namespace podshim {

// Forks; the child runs `step`, sends back its error (code and context) if it failed and exits
// without running destructors or atexit handlers. Processes the step creates (a container's
// init) outlive the child: they are re-parented to the caller when it is a child subreaper.
// Errors: the step's own, or `fork`, or "forked child killed by signal N" when it died.
Status RunInForkedChild(const std::function<Status()>& step);

}  // namespace podshim
