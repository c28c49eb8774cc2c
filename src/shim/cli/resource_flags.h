// The resource switches of SEMANTICS.md section 10, shared by `run`, `start` and `resources`:
// --cpu-weight-formula=2025|linear, --memory-qos, --single-process-oom-kill, --pod-pids-limit N,
// --cpu-cfs-period DURATION, --no-cpu-cfs-quota. Declared once here for CLI11 (command_line.h).
#pragma once

#include "cgroups/cgroup_values.h"
#include "shim/cli/command_line.h"

namespace podshim::shim {

// Adds the switches to `line` (group "resource options"); parsing writes them to *options. A bad
// value is an error naming the switch ("--pod-pids-limit: ...").
void AddResourceFlags(CommandLine& line, cgroups::CgroupValueOptions* options);

}  // namespace podshim::shim
