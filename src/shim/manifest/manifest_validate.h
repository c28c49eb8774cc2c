// Cross-field rules of the pod manifest, checked on the parsed model (Kubernetes
// ValidatePodSpec, the parts podshim needs): names, duplicates, container roles, probe and hook
// placement, volume references. Pure; the reader in manifest.cc calls it after parsing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim {

// Every rule the model breaks, each an kInvalidSpec Error "<path>: <what is wrong>". Fields that
// the reader already reported as missing (empty names) are skipped, so nothing is said twice.
std::vector<Error> ValidatePod(const Pod& pod);

// Kubernetes name rules: a DNS-1123 label ([a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 chars) and
// an IANA service name (at most 15 chars of [a-z0-9-], at least one letter, no "--", no leading or
// trailing '-'), as used for container port names.
bool IsDns1123Label(std::string_view s);
bool IsIanaSvcName(std::string_view s);

// "spec.initContainers[2]" or "spec.containers[0]".
std::string ContainerPath(const Container& c, size_t index);

}  // namespace podshim::shim
