// Command-line parsing for `podshim oci`, in the style runc's CLI accepts: options before the
// positional arguments, `--opt value`, `--opt=value`, `-o value`, single-dash long names
// (`-bundle`), and `--` to end the options. Parsing stops at the first positional argument, so
// `podshim oci spec -- sh -c 'x'` and `kill ID -9`-style values reach the command untouched.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace podshim::shim {

struct OciOption {
  std::string_view name;   // long name without dashes: "bundle"
  char short_name = '\0';  // 'b', or '\0'
  bool takes_value = false;
};

struct OciArgs {
  std::map<std::string, std::string> values;  // options with a value, by long name
  std::set<std::string> flags;                // options without one, by long name
  std::vector<std::string> positional;

  bool Has(std::string_view name) const { return flags.contains(std::string(name)); }
  std::string Value(std::string_view name, std::string fallback = "") const;
};

// Errors are kInvalidSpec: `unknown option "--bndle"`, `option "--bundle" needs a value`.
Result<OciArgs> ParseOciArgs(std::span<char* const> args, std::span<const OciOption> options);

}  // namespace podshim::shim
