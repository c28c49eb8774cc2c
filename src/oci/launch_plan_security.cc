#include "oci/launch_plan_security.h"

#include <sys/capability.h>

#include <string>
#include <vector>

namespace podshim::oci {
namespace {

Result<uint64_t> Mask(const std::vector<std::string>& names, const std::string& field) {
  uint64_t mask = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    cap_value_t value;
    if (::cap_from_name(names[i].c_str(), &value) < 0 || value < 0 || value >= 64) {
      return Error::Invalid(field + "[" + std::to_string(i) + "]: unknown capability \"" +
                            names[i] + "\"");
    }
    mask |= 1ULL << value;
  }
  return mask;
}

}  // namespace

Result<CapabilityMasks> PlanCapabilities(const LinuxCapabilities& caps) {
  const std::string f = "process.capabilities.";
  CapabilityMasks m;
  m.bounding = PODSHIM_TRY(Mask(caps.bounding, f + "bounding"));
  m.effective = PODSHIM_TRY(Mask(caps.effective, f + "effective"));
  m.permitted = PODSHIM_TRY(Mask(caps.permitted, f + "permitted"));
  m.inheritable = PODSHIM_TRY(Mask(caps.inheritable, f + "inheritable"));
  m.ambient = PODSHIM_TRY(Mask(caps.ambient, f + "ambient"));
  return m;
}

Result<SeccompProgram> PlanSeccomp(const LinuxSeccomp&) {
  return Error::Domain(ErrorCode::kUnsupported, "linux.seccomp: not compiled yet");
}

}  // namespace podshim::oci
