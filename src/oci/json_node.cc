#include "oci/json_node.h"

#include <limits>

#include "common/quoted.h"

namespace podshim::oci {
namespace {

using nlohmann::json;

// Collects the message of the first syntax error; accepts everything else.
struct ErrorCollector : nlohmann::detail::json_sax_acceptor<json> {
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    message = ex.what();
    return false;
  }
  std::string message;
};

const char* TypeName(const json& v) {
  if (v.is_number_unsigned() || v.is_number_integer()) return "an integer";
  if (v.is_number_float()) return "a number";
  return v.type_name();  // "null", "object", "array", "string", "boolean"
}

}  // namespace

Error JsonNode::Invalid(std::string_view what) const {
  std::string context = document_;
  context += ": ";
  if (!path_.empty()) {
    context += path_;
    context += ": ";
  }
  context += what;
  return Error::Invalid(std::move(context));
}

Error JsonNode::InvalidMember(std::string_view name, std::string_view what) const {
  return JsonNode(*value_, document_, ChildPath(name)).Invalid(what);
}

std::string JsonNode::ChildPath(std::string_view name) const {
  if (path_.empty()) return std::string(name);
  std::string p = path_;
  p += '.';
  p += name;
  return p;
}

Status JsonNode::ExpectObject() const {
  if (!value_->is_object()) {
    return Invalid(std::string("expected an object, got ") + TypeName(*value_));
  }
  return Ok();
}

Result<std::optional<JsonNode>> JsonNode::Member(std::string_view name) const {
  PODSHIM_TRY(ExpectObject());
  auto it = value_->find(name);
  if (it == value_->end() || it->is_null()) return std::optional<JsonNode>();
  return std::optional<JsonNode>(JsonNode(*it, document_, ChildPath(name)));
}

Result<JsonNode> JsonNode::Required(std::string_view name) const {
  auto member = PODSHIM_TRY(Member(name));
  if (!member) return InvalidMember(name, "required");
  return *std::move(member);
}

Result<std::vector<JsonNode>> JsonNode::Elements() const {
  if (!value_->is_array()) {
    return Invalid(std::string("expected an array, got ") + TypeName(*value_));
  }
  std::vector<JsonNode> out;
  out.reserve(value_->size());
  for (size_t i = 0; i < value_->size(); ++i) {
    out.emplace_back((*value_)[i], document_, path_ + "[" + std::to_string(i) + "]");
  }
  return out;
}

Result<std::vector<std::pair<std::string, JsonNode>>> JsonNode::Items() const {
  PODSHIM_TRY(ExpectObject());
  std::vector<std::pair<std::string, JsonNode>> out;
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    // Map keys may contain dots ("net.ipv4.ip_forward"), so they are written in brackets.
    out.emplace_back(it.key(),
                     JsonNode(it.value(), document_, path_ + "[" + Quoted(it.key()) + "]"));
  }
  return out;
}

Result<std::string> JsonNode::String() const {
  if (!value_->is_string()) {
    return Invalid(std::string("expected a string, got ") + TypeName(*value_));
  }
  return value_->get_ref<const std::string&>();
}

Result<bool> JsonNode::Bool() const {
  if (!value_->is_boolean()) {
    return Invalid(std::string("expected a boolean, got ") + TypeName(*value_));
  }
  return value_->get<bool>();
}

Result<uint64_t> JsonNode::Uint64() const {
  // nlohmann stores every non-negative integer literal as number_unsigned.
  if (!value_->is_number_unsigned()) return Invalid("expected an unsigned integer");
  return value_->get<uint64_t>();
}

Result<uint32_t> JsonNode::Uint32() const {
  uint64_t v = PODSHIM_TRY(Uint64());
  if (v > std::numeric_limits<uint32_t>::max()) {
    return Invalid("out of range (at most 4294967295)");
  }
  return static_cast<uint32_t>(v);
}

Result<int64_t> JsonNode::Int64() const {
  if (value_->is_number_integer() && !value_->is_number_unsigned()) {
    return value_->get<int64_t>();
  }
  if (!value_->is_number_unsigned()) return Invalid("expected an integer");
  uint64_t v = value_->get<uint64_t>();
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Invalid("out of range for a signed 64-bit integer");
  }
  return static_cast<int64_t>(v);
}

Result<int> JsonNode::Int() const {
  int64_t v = PODSHIM_TRY(Int64());
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    return Invalid("out of range for a 32-bit integer");
  }
  return static_cast<int>(v);
}

Result<std::vector<std::string>> JsonNode::StringArray() const {
  std::vector<std::string> out;
  for (const JsonNode& e : PODSHIM_TRY(Elements())) out.push_back(PODSHIM_TRY(e.String()));
  return out;
}

Result<std::vector<uint32_t>> JsonNode::Uint32Array() const {
  std::vector<uint32_t> out;
  for (const JsonNode& e : PODSHIM_TRY(Elements())) out.push_back(PODSHIM_TRY(e.Uint32()));
  return out;
}

Result<std::map<std::string, std::string>> JsonNode::StringMap() const {
  std::map<std::string, std::string> out;
  for (const auto& [key, node] : PODSHIM_TRY(Items())) out[key] = PODSHIM_TRY(node.String());
  return out;
}

Result<json> ParseJsonDocument(std::string_view text, std::string_view document) {
  json doc = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!doc.is_discarded()) return doc;
  ErrorCollector collector;
  json::sax_parse(text, &collector);
  std::string detail = collector.message.empty() ? "syntax error" : collector.message;
  return Error::Invalid(std::string(document) + ": invalid JSON: " + detail);
}

Result<std::string> OptionalString(const JsonNode& object, std::string_view name,
                                   std::string fallback) {
  auto member = PODSHIM_TRY(object.Member(name));
  if (!member) return fallback;
  return member->String();
}

Result<bool> OptionalBool(const JsonNode& object, std::string_view name, bool fallback) {
  auto member = PODSHIM_TRY(object.Member(name));
  if (!member) return fallback;
  return member->Bool();
}

Result<std::vector<std::string>> OptionalStringArray(const JsonNode& object,
                                                     std::string_view name) {
  auto member = PODSHIM_TRY(object.Member(name));
  if (!member) return std::vector<std::string>();
  return member->StringArray();
}

}  // namespace podshim::oci
