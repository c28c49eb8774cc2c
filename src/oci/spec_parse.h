// Parsing and validation of an OCI bundle's config.json into oci::Spec (spec.h).
// Unknown properties are ignored, as the runtime-spec requires. A known property that is
// malformed is an ErrorCode::kInvalidSpec error whose context is "config.json: <json path>:
// <what>", e.g. "config.json: process.rlimits[0].hard: expected an unsigned integer".
#pragma once

#include <filesystem>
#include <string_view>

#include "common/result.h"
#include "oci/spec.h"

namespace podshim::oci {

// Parses config.json text. Paths are kept as written (root.path may be relative).
// Validated here: types and required properties; enumerations (namespace types, rlimit types,
// seccomp actions/operators/architectures/flags, rootfsPropagation, device types); duplicate
// namespaces and rlimits; soft <= hard; absolute process.cwd, hook paths and namespace paths.
// Not validated here: capability names (ResolveCapabilities) and syscall names (CompileSeccomp).
Result<Spec> ParseSpec(std::string_view json_text);

// Parses a runtime-spec `process` object on its own (runc's `exec --process FILE`), validated
// as config.json's; errors name the file: "FILE: process.args: must have at least one entry".
Result<Process> ParseProcessJson(std::string_view json_text, std::string_view document);

// Reads <bundle_dir>/config.json and parses it; root.path is made absolute against the
// (absolute) bundle directory and lexically normalised.
Result<Spec> LoadSpec(const std::filesystem::path& bundle_dir);

}  // namespace podshim::oci
