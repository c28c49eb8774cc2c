// Parsing of config.json's "linux" object (namespaces, id mappings, devices, seccomp, resources,
// paths, sysctl). Internal to spec_parse.cc; errors name the JSON path like every spec error.
#pragma once

#include "common/result.h"
#include "oci/json_node.h"
#include "oci/spec.h"

namespace podshim::oci {

Result<Linux> ParseLinux(const JsonNode& node);

}  // namespace podshim::oci
