// The control protocol's JSON text handling shared by its request and response sides: parsing
// a line that must be an object (its nesting bounded before nlohmann parses it) and compact
// output that never throws.
#pragma once

#include <cstddef>
#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace podshim::shim::control {

// True when arrays and objects in `text` nest deeper than `limit` (one pass, no recursion).
bool NestsDeeperThan(std::string_view text, std::size_t limit);
// What a text over the nesting limit is told: "nests deeper than 64 levels".
std::string TooDeep();
// Parses text that must be a JSON object nesting at most kMaxRequestDepth levels; the error
// says which of the two it is not ("not a JSON object", "nests deeper than 64 levels").
std::expected<nlohmann::json, std::string> ParseObject(std::string_view text);
// Compact JSON text of a value; never throws.
std::string Compact(const nlohmann::json& j);

}  // namespace podshim::shim::control
