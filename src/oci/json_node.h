// JsonNode: a JSON value plus its path from the document root ("process.rlimits[0].hard"), with
// typed accessors that return Result errors naming that path. Internal to the oci module's
// parsers; it never throws (nlohmann exceptions are caught in json_node.cc).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace podshim::oci {

class JsonNode {
 public:
  // `document` names the file in errors ("config.json"); `path` is "" for the root.
  JsonNode(const nlohmann::json& value, std::string document, std::string path)
      : value_(&value), document_(std::move(document)), path_(std::move(path)) {}

  const nlohmann::json& value() const { return *value_; }
  const std::string& path() const { return path_; }

  // An Error::Invalid "<document>: <path>: <what>" for this node.
  Error Invalid(std::string_view what) const;
  // The same for the member `name` of this object node (used for "required").
  Error InvalidMember(std::string_view name, std::string_view what) const;

  // The member `name` of this object, or nullopt when it is absent or null (Go decoders treat a
  // null like an absent property, and so do we). Fails when this node is not an object.
  Result<std::optional<JsonNode>> Member(std::string_view name) const;
  // Like Member, but an absent member is "<path>.<name>: required".
  Result<JsonNode> Required(std::string_view name) const;

  Status ExpectObject() const;
  Result<std::vector<JsonNode>> Elements() const;  // an array
  // An object used as a map; each member's path is <path>["key"].
  Result<std::vector<std::pair<std::string, JsonNode>>> Items() const;

  Result<std::string> String() const;
  Result<bool> Bool() const;
  Result<uint64_t> Uint64() const;
  Result<uint32_t> Uint32() const;
  Result<int64_t> Int64() const;
  Result<int> Int() const;
  Result<std::vector<std::string>> StringArray() const;
  Result<std::vector<uint32_t>> Uint32Array() const;
  Result<std::map<std::string, std::string>> StringMap() const;

 private:
  std::string ChildPath(std::string_view name) const;

  const nlohmann::json* value_;
  std::string document_;
  std::string path_;
};

// Parses `text` without exceptions; a syntax error is "<document>: invalid JSON: <detail>".
Result<nlohmann::json> ParseJsonDocument(std::string_view text, std::string_view document);

// Helpers for optional members: each returns `fallback` when the member is absent.
Result<std::string> OptionalString(const JsonNode& object, std::string_view name,
                                   std::string fallback = {});
Result<bool> OptionalBool(const JsonNode& object, std::string_view name, bool fallback = false);
Result<std::vector<std::string>> OptionalStringArray(const JsonNode& object, std::string_view name);

}  // namespace podshim::oci
