// The pod keeper's process (docs/decisions.md, "The pod keeper"): `podshim-keeper --state-dir D
// --shim-pid N --fd F`, the parent of one pod's shim. It holds the containers' output pipes and
// reaps the orphans a shim killed by a signal leaves, for the next shim (`--recover`). A binary
// of its own, linked statically and with no logging or JSON library: one runs per pod.
#pragma once

namespace podshim::shim {

// Runs the keeper until its shim's pod ended, or, after the shim died, nothing is left to keep.
// Returns the exit status (2: bad arguments).
int RunKeeper(int argc, char** argv);

}  // namespace podshim::shim
