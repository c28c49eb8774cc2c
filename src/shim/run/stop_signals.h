// The shim's stop signals (SIGTERM, SIGINT) are blocked from the first instruction of `podshim
// run` and of `podshim start`'s detached shim, before anything is created, and stay blocked: one
// that arrives while the pod is set up waits, pending, until the event loop's signalfd reads it
// (the loop then terminates the pod and the run exits 128+N), one after the loop is ignored
// while the pod is torn down. So neither ever kills the shim half-way and leaks the pod cgroup.
#pragma once

namespace podshim::shim {

// Adds SIGTERM and SIGINT to the calling thread's blocked set (async-signal-safe; idempotent).
void BlockStopSignals();

}  // namespace podshim::shim
