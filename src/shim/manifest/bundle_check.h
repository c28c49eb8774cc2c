// Checks that each container's OCI bundle of a parsed pod manifest is usable: the directory
// exists, config.json is present and parses (oci::LoadSpec), root.path is a directory, and the
// container's spec (the pod applied to it) gives a launch plan. The one bundle check, used by
// `podshim validate` and by `podshim run`/`start` before they create anything.
#pragma once

#include <vector>

#include "common/result.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim {

// Every problem, each a kInvalidSpec Error "<container path>.bundle: <what is wrong>", in spec
// order (init containers, then containers). Containers without a bundle are skipped (the manifest
// parser already reported them).
std::vector<Error> CheckBundles(const PodSpec& spec);

}  // namespace podshim::shim
