#include "shim/control/json_text.h"

#include "shim/control/control_protocol.h"

namespace podshim::shim::control {

using nlohmann::json;

// True when arrays and objects in `text` nest deeper than `limit`. Counts brackets outside
// strings in one pass: no recursion, no allocation. Up to the first syntax error this is the depth
// nlohmann's parser would reach, so a text that passes cannot make any later walk of the parsed
// value (dump, destruction) go deeper than `limit`.
bool NestsDeeperThan(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// What a text over the nesting limit is told: "nests deeper than 64 levels".
std::string TooDeep() {
  return "nests deeper than " + std::to_string(kMaxRequestDepth) + " levels";
}

// Parses text that must be a JSON object nesting at most kMaxRequestDepth levels; the error
// says which of the two it is not ("not a JSON object", "nests deeper than 64 levels").
std::expected<json, std::string> ParseObject(std::string_view text) {
  if (NestsDeeperThan(text, kMaxRequestDepth)) return std::unexpected(TooDeep());
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::unexpected("not a JSON object");
  return j;
}

// Compact JSON text of a value; never throws (bad UTF-8 cannot come out of the parser, and
// would be replaced if it did).
std::string Compact(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace podshim::shim::control
