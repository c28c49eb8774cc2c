// containerd-shim-podshim-v2: the shim v2 binary containerd starts for a pod's tasks
// (docs/containerd.md). `start` answers the pod's shim address (starting the shim), `delete`
// cleans up one task after it or its shim is gone.
#include <cstdio>
#include <span>

#include "common/version.h"
#include "shim/shimv2/shim_delete.h"
#include "shim/shimv2/shim_flags.h"
#include "shim/shimv2/shim_start.h"

int main(int argc, char** argv) {
  using namespace podshim::shim::shimv2;
  std::span<char* const> args(argv, static_cast<size_t>(argc));
  auto flags = ParseShimFlags(args.subspan(argc > 0 ? 1 : 0));
  if (!flags) {
    std::fprintf(stderr, "containerd-shim-podshim-v2: %s\n", flags.error().ToString().c_str());
    return 2;
  }
  if (flags->version) {
    std::printf("containerd-shim-podshim-v2:\n  Version:  %.*s\n  Revision: %.*s\n",
                static_cast<int>(podshim::ProjectVersion().size()),
                podshim::ProjectVersion().data(), static_cast<int>(podshim::BuildCommit().size()),
                podshim::BuildCommit().data());
    return 0;
  }
  if (flags->action == "start") return RunStart(*flags);
  return RunDelete(*flags);
}
