// libyaml's event parser -> the bounded YamlNode tree; see yaml_document.h.
#include "shim/manifest/yaml_document.h"

#include <yaml.h>

#include <unordered_map>
#include <utility>

#include "common/quoted.h"

namespace podshim::shim {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsOctal(char c) { return c >= '0' && c <= '7'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Skips a run of characters satisfying `pred` from `pos`; returns how many were skipped.
template <typename Pred>
size_t SkipWhile(std::string_view s, size_t& pos, Pred pred) {
  size_t start = pos;
  while (pos < s.size() && pred(s[pos])) ++pos;
  return pos - start;
}

// [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
bool IsCoreInt(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    size_t pos = 2;
    size_t n = s[1] == 'o' ? SkipWhile(s, pos, IsOctal) : SkipWhile(s, pos, IsHex);
    return n > 0 && pos == s.size();
  }
  size_t pos = 0;
  if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) ++pos;
  return SkipWhile(s, pos, IsDigit) > 0 && pos == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)
bool IsCoreFloat(std::string_view s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return true;
  size_t pos = 0;
  if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) ++pos;
  std::string_view rest = s.substr(pos);
  if (rest == ".inf" || rest == ".Inf" || rest == ".INF") return true;
  size_t integer = SkipWhile(s, pos, IsDigit);
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t fraction = SkipWhile(s, pos, IsDigit);
    if (integer == 0 && fraction == 0) return false;
  } else if (integer == 0) {
    return false;
  }
  if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
    ++pos;
    if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) ++pos;
    if (SkipWhile(s, pos, IsDigit) == 0) return false;
  }
  return pos == s.size();
}

// A mapping key as it appears in a limit error's path: as written when it is a plain name,
// quoted (and cut short) otherwise, so a message stays one readable line.
std::string PathKey(const YamlNode& key) {
  if (!key.is_scalar()) return "?";
  const std::string& k = key.text();
  constexpr size_t kMaxShown = 64;
  bool plain = !k.empty() && k.size() <= kMaxShown;
  for (char c : k) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '-' ||
                      c == '_' || c == '.' || c == '/');
  }
  if (plain) return k;
  if (k.size() <= kMaxShown) return Quoted(k);
  return Quoted(std::string_view(k).substr(0, kMaxShown)) + "...";
}

std::string SyntaxError(const yaml_parser_t& p) {
  std::string msg = "invalid YAML or JSON";
  if (p.error == YAML_MEMORY_ERROR) return msg + ": out of memory";
  if (p.error == YAML_READER_ERROR) {
    msg += " at byte " + std::to_string(p.problem_offset);
  } else {
    msg += " at line " + std::to_string(p.problem_mark.line + 1) + ", column " +
           std::to_string(p.problem_mark.column + 1);
  }
  msg += ": ";
  msg += p.problem ? p.problem : "unknown error";
  if (p.error == YAML_READER_ERROR && p.problem_value >= 0) {
    // libyaml reports a byte, or for "invalid Unicode character" a code point.
    unsigned v = static_cast<unsigned>(p.problem_value);
    const bool code_point = v > 0xff;
    const char* hex = code_point ? "0123456789ABCDEF" : "0123456789abcdef";
    msg += code_point ? " (character U+" : " (byte 0x";
    for (int shift = v > 0xffff ? 20 : code_point ? 12 : 4; shift >= 0; shift -= 4) {
      msg += hex[(v >> shift) & 0xf];
    }
    msg += ")";
  }
  if (p.context) {
    msg += " (";
    msg += p.context;
    msg += " at line " + std::to_string(p.context_mark.line + 1) + ", column " +
           std::to_string(p.context_mark.column + 1) + ")";
  }
  return msg;
}

}  // namespace

YamlScalarType ResolvePlainScalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return YamlScalarType::kNull;
  }
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") {
    return YamlScalarType::kBool;
  }
  if (IsCoreInt(s)) return YamlScalarType::kInt;
  if (IsCoreFloat(s)) return YamlScalarType::kFloat;
  return YamlScalarType::kString;
}

std::string FormatByteLimit(size_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) {
    return std::to_string(bytes / (1024 * 1024)) + " MiB";
  }
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// Builds the tree from libyaml's events, one at a time, checking every limit as it goes.
class YamlTreeBuilder {
 public:
  explicit YamlTreeBuilder(const YamlLimits& limits) : limits_(limits) {}

  Status OnEvent(const yaml_event_t& e) {
    switch (e.type) {
      case YAML_DOCUMENT_START_EVENT:
        anchors_.clear();  // anchors are scoped to their document
        return Ok();
      case YAML_SCALAR_EVENT:
        return OnScalar(e);
      case YAML_SEQUENCE_START_EVENT:
        return OnStart(e, YamlNode::Kind::kSequence,
                       reinterpret_cast<const char*>(e.data.sequence_start.anchor));
      case YAML_MAPPING_START_EVENT:
        return OnStart(e, YamlNode::Kind::kMapping,
                       reinterpret_cast<const char*>(e.data.mapping_start.anchor));
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        return OnEnd();
      case YAML_ALIAS_EVENT:
        return OnAlias(e);
      default:
        return Ok();
    }
  }

  std::vector<std::shared_ptr<const YamlNode>> TakeDocuments() { return std::move(documents_); }

 private:
  struct Frame {
    std::shared_ptr<YamlNode> node;
    std::string anchor;
    uint64_t nodes = 1;  // this subtree, aliases counted as copies
    uint64_t bytes = 0;
  };
  struct Anchored {
    std::shared_ptr<const YamlNode> node;
    uint64_t nodes = 0;
    uint64_t bytes = 0;
  };

  static std::shared_ptr<YamlNode> NewNode(YamlNode::Kind kind, const yaml_event_t& e) {
    auto node = std::make_shared<YamlNode>();
    node->kind_ = kind;
    node->line_ = static_cast<uint32_t>(e.start_mark.line + 1);
    node->column_ = static_cast<uint32_t>(e.start_mark.column + 1);
    return node;
  }

  // Where the next node goes, as the manifest reader names paths ("spec.containers[0].args[2]").
  std::string Path() const {
    std::string path;
    for (const Frame& f : stack_) {
      const auto& children = f.node->children_;
      if (f.node->is_sequence()) {
        path += "[" + std::to_string(children.size()) + "]";
      } else if (children.size() % 2 == 1) {  // inside the value of the last key
        if (!path.empty()) path += ".";
        path += PathKey(*children.back());
      }
    }
    return path.empty() ? "manifest" : path;
  }

  Error LimitError(std::string_view what) const {
    return Error::Invalid(Path() + ": " + std::string(what));
  }

  // Charges `nodes` and `bytes` to the whole stream's budget.
  Status Charge(uint64_t nodes, uint64_t bytes) {
    if (total_nodes_ + nodes > limits_.max_nodes) {
      return LimitError("more than the " + std::to_string(limits_.max_nodes) +
                        "-node limit (aliases counted as copies)");
    }
    if (total_bytes_ + bytes > limits_.max_expanded_scalar_bytes) {
      return LimitError("scalars longer than the " +
                        FormatByteLimit(limits_.max_expanded_scalar_bytes) +
                        " limit in all (aliases counted as copies)");
    }
    total_nodes_ += nodes;
    total_bytes_ += bytes;
    return Ok();
  }

  void Remember(const char* anchor, Anchored anchored) {
    if (anchor) anchors_[anchor] = std::move(anchored);
  }

  // Hands a finished node to its parent (or to the stream, as a document).
  void Add(std::shared_ptr<const YamlNode> node, uint64_t nodes, uint64_t bytes) {
    if (stack_.empty()) {
      documents_.push_back(std::move(node));
      return;
    }
    Frame& parent = stack_.back();
    parent.node->children_.push_back(std::move(node));
    parent.nodes += nodes;
    parent.bytes += bytes;
  }

  Status OnScalar(const yaml_event_t& e) {
    const auto& s = e.data.scalar;
    if (s.length > limits_.max_scalar_bytes) {
      return LimitError("scalar longer than the " + FormatByteLimit(limits_.max_scalar_bytes) +
                        " limit");
    }
    PODSHIM_TRY(Charge(1, s.length));
    auto node = NewNode(YamlNode::Kind::kScalar, e);
    node->text_.assign(reinterpret_cast<const char*>(s.value), s.length);
    // As yaml-cpp did and Kubernetes does: "!" and "!!str" force a string, any other tag leaves
    // the type to the text; untagged quoted and block scalars are strings.
    if (s.tag) {
      std::string_view tag(reinterpret_cast<const char*>(s.tag));
      node->type_ = tag == "!" || tag == "tag:yaml.org,2002:str" ? YamlScalarType::kString
                                                                 : ResolvePlainScalar(node->text_);
    } else if (s.style == YAML_PLAIN_SCALAR_STYLE || s.style == YAML_ANY_SCALAR_STYLE) {
      node->type_ = ResolvePlainScalar(node->text_);
    } else {
      node->type_ = YamlScalarType::kString;
    }
    Remember(reinterpret_cast<const char*>(s.anchor), {node, 1, s.length});
    Add(std::move(node), 1, s.length);
    return Ok();
  }

  Status OnStart(const yaml_event_t& e, YamlNode::Kind kind, const char* anchor) {
    if (stack_.size() >= limits_.max_depth) {
      return LimitError("nested deeper than the " + std::to_string(limits_.max_depth) +
                        "-level limit");
    }
    PODSHIM_TRY(Charge(1, 0));
    stack_.push_back(Frame{NewNode(kind, e), anchor ? anchor : "", 1, 0});
    return Ok();
  }

  Status OnEnd() {
    if (stack_.empty()) return Ok();  // libyaml pairs them; nothing to close otherwise
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (!f.anchor.empty()) anchors_[f.anchor] = Anchored{f.node, f.nodes, f.bytes};
    Add(std::move(f.node), f.nodes, f.bytes);
    return Ok();
  }

  Status OnAlias(const yaml_event_t& e) {
    const char* name = reinterpret_cast<const char*>(e.data.alias.anchor);
    auto it = anchors_.find(name ? name : "");
    if (it == anchors_.end()) {
      return LimitError("alias " + Quoted(name ? name : "") + " names no anchor before it");
    }
    const Anchored& a = it->second;
    PODSHIM_TRY(Charge(a.nodes, a.bytes));
    Add(a.node, a.nodes, a.bytes);
    return Ok();
  }

  const YamlLimits& limits_;
  std::vector<Frame> stack_;
  std::unordered_map<std::string, Anchored> anchors_;
  std::vector<std::shared_ptr<const YamlNode>> documents_;
  uint64_t total_nodes_ = 0;
  uint64_t total_bytes_ = 0;
};

Result<std::vector<std::shared_ptr<const YamlNode>>> ParseYamlStream(std::string_view text,
                                                                     const YamlLimits& limits) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser))
    return Error::Invalid("invalid YAML or JSON: out of memory");
  struct ParserGuard {
    yaml_parser_t* p;
    ~ParserGuard() { yaml_parser_delete(p); }
  } parser_guard{&parser};
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  YamlTreeBuilder builder(limits);
  for (;;) {
    yaml_event_t event;
    if (!yaml_parser_parse(&parser, &event)) return Error::Invalid(SyntaxError(parser));
    struct EventGuard {
      yaml_event_t* e;
      ~EventGuard() { yaml_event_delete(e); }
    } event_guard{&event};
    PODSHIM_TRY(builder.OnEvent(event));
    if (event.type == YAML_STREAM_END_EVENT) break;
  }
  return builder.TakeDocuments();
}

}  // namespace podshim::shim
