// The security parts of a LaunchPlan: the spec's capability names turned into the five masks the
// child hands to capset(2)/prctl(2), and the seccomp BPF program it installs with seccomp(2).
// Kept apart so launch_plan.cc is only about shaping data.
#pragma once

#include "common/result.h"
#include "oci/launch_plan.h"
#include "oci/spec.h"

namespace podshim::oci {

// Errors name the field: `process.capabilities.bounding[2]: unknown capability "CAP_FOO"`.
Result<CapabilityMasks> PlanCapabilities(const LinuxCapabilities& caps);

Result<SeccompProgram> PlanSeccomp(const LinuxSeccomp& seccomp);

}  // namespace podshim::oci
