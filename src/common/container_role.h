// The three kinds of container in a pod (SEMANTICS 0.2), shared by every module that orders,
// sizes or stops containers: kInit = regular init container, kSidecar = init container with
// restartPolicy Always, kApp = entry of spec.containers.
#pragma once

#include <string_view>

namespace podshim {

enum class ContainerRole { kInit, kSidecar, kApp };

// "init", "sidecar", "app": the `role` field of events, status and `podshim resources`.
std::string_view ContainerRoleName(ContainerRole role);

}  // namespace podshim
