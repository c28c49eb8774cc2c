#include "shim/run/pod_options.h"

namespace podshim::shim {

PodPaths ResolvePodPaths(const PodOptions& o, const Pod& pod) {
  PodPaths p;
  p.id = o.id.empty() ? pod.metadata.name : o.id;
  p.state_dir = o.state_dir.empty() ? std::filesystem::path("/run/podshim") / p.id
                                    : std::filesystem::path(o.state_dir);
  p.log_dir = o.log_dir.empty() ? p.state_dir / "logs" : std::filesystem::path(o.log_dir);
  return p;
}

void SetInvocation(PodOptions& o) {
  const ShimInvocation& inv = CurrentShimInvocation();
  o.argv = inv.argv;
  o.cwd = inv.cwd;
  o.handover = inv.handover;
}

}  // namespace podshim::shim
