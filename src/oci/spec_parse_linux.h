// Parsing of config.json's "linux" object (namespaces, id mappings, devices, seccomp, resources,
// paths, sysctl). Internal to spec_parse.cc; errors name the JSON path like every spec error.
#pragma once

#include "common/result.h"
#include "oci/json_node.h"
#include "oci/spec.h"

namespace podshim::oci {

Result<Linux> ParseLinux(const JsonNode& node);

// A uid or gid the kernel can set: an unsigned 32-bit integer other than 4294967295, which
// setuid/setgid/chown read as (uid_t)-1, "no change" (the process would keep uid 0).
Result<uint32_t> SettableId(const JsonNode& node);

}  // namespace podshim::oci
