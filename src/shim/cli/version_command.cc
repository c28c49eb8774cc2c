// `podshim --version`: what podman, containerd and users read from `runc --version`.
#include <cstdio>

#include "common/version.h"
#include "oci/features.h"
#include "shim/cli/commands.h"

namespace podshim::shim {

int PrintVersion() {
  std::printf("podshim version %.*s\ncommit: %.*s\nspec: %s\nlibseccomp: %s\n",
              static_cast<int>(ProjectVersion().size()), ProjectVersion().data(),
              static_cast<int>(BuildCommit().size()), BuildCommit().data(), oci::kOciVersionMax,
              oci::LibseccompVersion().c_str());
  return 0;
}

}  // namespace podshim::shim
