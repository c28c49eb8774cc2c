// The resource switches of SEMANTICS.md section 10, shared by `run`, `start` and `resources`:
// --cpu-weight-formula=2025|linear, --memory-qos, --single-process-oom-kill, --pod-pids-limit N,
// --cpu-cfs-period DURATION, --no-cpu-cfs-quota. Both "--opt=value" and "--opt value" work.
#pragma once

#include <span>
#include <string>

#include "cgroups/cgroup_values.h"
#include "common/result.h"

namespace podshim::shim {

// If args[*index] is a resource switch, applies it to `options`, advances *index past it (and
// past its value when given separately) and returns true; returns false, untouched, for any
// other argument. A bad value is an error naming the switch ("--pod-pids-limit: ...").
Result<bool> ConsumeResourceFlag(std::span<char* const> args, size_t* index,
                                 cgroups::CgroupValueOptions* options);

// Help lines for the switches, for usage texts.
extern const char kResourceFlagsHelp[];

}  // namespace podshim::shim
