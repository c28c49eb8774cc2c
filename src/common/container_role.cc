#include "common/container_role.h"

namespace podshim {

std::string_view ContainerRoleName(ContainerRole role) {
  switch (role) {
    case ContainerRole::kInit:
      return "init";
    case ContainerRole::kSidecar:
      return "sidecar";
    case ContainerRole::kApp:
      break;
  }
  return "app";
}

}  // namespace podshim
