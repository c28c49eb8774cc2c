// A YAML (and so JSON) stream read into a small, bounded tree: the only place libyaml is used.
// Every limit is checked while the tree is built, so hostile input (a huge scalar, an alias bomb,
// deep nesting, millions of nodes) is refused early with the limit named in the error, and the
// memory held stays proportional to the input (an alias shares the anchored node, it is not
// copied). Scalars are typed by the YAML 1.2 core schema, as Kubernetes' YAML-to-JSON step does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace podshim::shim {

// The type a scalar resolves to. Quoted and block scalars, and those tagged "!" or "!!str", are
// strings; any other scalar is typed by its text (ResolvePlainScalar).
enum class YamlScalarType { kNull, kBool, kInt, kFloat, kString };

// The YAML 1.2 core schema for plain text: null ("", "~", null), bool (true/false in three
// spellings), int ([-+]?[0-9]+, 0o.., 0x..), float ([-+]?(.5|1|1.|1.5)(e[-+]?1)?, .inf, .nan);
// anything else is a string. Linear in the text, no recursion.
YamlScalarType ResolvePlainScalar(std::string_view text);

// Bounds on one stream. The defaults are far above any real pod manifest (docs/decisions.md).
struct YamlLimits {
  size_t max_scalar_bytes = 256 * 1024;  // one scalar (an annotation may hold 256 KiB)
  size_t max_depth = 64;                 // nested sequences and mappings
  // Over the whole stream, counting every alias as the copy of the anchored node it stands for.
  size_t max_nodes = 1'000'000;
  size_t max_expanded_scalar_bytes = 3 * 1024 * 1024;
};

class YamlNode {
 public:
  enum class Kind { kScalar, kSequence, kMapping };

  Kind kind() const { return kind_; }
  bool is_scalar() const { return kind_ == Kind::kScalar; }
  bool is_sequence() const { return kind_ == Kind::kSequence; }
  bool is_mapping() const { return kind_ == Kind::kMapping; }
  // A scalar that resolves to null (Kubernetes treats a null field as unset).
  bool is_null() const { return is_scalar() && type_ == YamlScalarType::kNull; }

  // Scalars.
  const std::string& text() const { return text_; }
  YamlScalarType type() const { return type_; }

  // Sequences: the number of items; mappings: the number of entries; scalars: 0.
  size_t size() const { return is_mapping() ? children_.size() / 2 : children_.size(); }
  const YamlNode& item(size_t i) const { return *children_[i]; }
  const YamlNode& key(size_t i) const { return *children_[2 * i]; }
  const YamlNode& value(size_t i) const { return *children_[2 * i + 1]; }

  // Where the node starts, 1-based.
  uint32_t line() const { return line_; }
  uint32_t column() const { return column_; }

 private:
  friend class YamlTreeBuilder;

  Kind kind_ = Kind::kScalar;
  YamlScalarType type_ = YamlScalarType::kNull;
  uint32_t line_ = 0;
  uint32_t column_ = 0;
  std::string text_;
  // Sequence items, or mapping keys and values alternating. Shared: an alias points at the
  // anchored node.
  std::vector<std::shared_ptr<const YamlNode>> children_;
};

// Every document of the stream, in order (an empty document is a null scalar). Errors, all
// kInvalidSpec: `invalid YAML or JSON at line 3, column 5: <what the parser says>`, or a limit,
// naming where it was hit: `spec.containers[0].args[2]: scalar longer than the 256 KiB limit`,
// `spec.x.y: nested deeper than the 64-level limit`, `spec.containers[0].args[7]: more than the
// 1000000-node limit (aliases counted as copies)`, `...: scalars longer than the 3 MiB limit in
// all (aliases counted as copies)`, `...: alias "x" names no anchor before it`.
Result<std::vector<std::shared_ptr<const YamlNode>>> ParseYamlStream(std::string_view text,
                                                                     const YamlLimits& limits);

// "3 MiB", "256 KiB", "100 bytes": a byte limit as error messages name it.
std::string FormatByteLimit(size_t bytes);

}  // namespace podshim::shim
