// OCI hooks for `podshim oci`: each hook is executed (path, args, env exactly as in config.json)
// with the container's state JSON on stdin, one after another, with its timeout. Runtime-
// namespace hooks run as children of podshim; container-namespace hooks (createContainer,
// startContainer) first join the container's namespaces through its pidfd.
#pragma once

#include <string_view>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"

namespace podshim::shim {

// Where a hook runs.
struct HookTarget {
  int container_pidfd = -1;  // -1: podshim's own namespaces; else setns into this process's
};

// Runs `hooks` in order; the first one that fails, times out or cannot start stops the run and is
// returned as `<kind> hook "/path": exited with status 1` (or `timed out after 5s`).
// poststart and poststop hooks (whose failures the runtime-spec makes warnings) all run; the
// error then lists every failure, joined by "; ".
Status RunHooks(std::string_view kind, const std::vector<oci::Hook>& hooks,
                std::string_view state_json, HookTarget target = {});

}  // namespace podshim::shim
