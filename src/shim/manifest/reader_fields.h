// The manifest reader's field-reading helpers, written once for every sub-object reader
// (read_*.cc): a Reader that collects "<path>: <what is wrong>" errors and reads typed scalars,
// lists and maps, and Fields, one mapping whose keys are checked against the known set. Internal
// to shim/manifest; the public entry points are in manifest.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "shim/manifest/yaml_document.h"

namespace podshim::shim::manifest_reader {

inline constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// Kubernetes validatePathNoBacksteps: no ".." element.
bool HasDotDotElement(std::string_view path);

// "<path>[<i>]".
std::string ItemPath(const std::string& path, size_t i);

class Reader {
 public:
  explicit Reader(std::filesystem::path manifest_dir) : manifest_dir_(std::move(manifest_dir)) {}

  // Relative bundles are joined to this directory.
  const std::filesystem::path& manifest_dir() const { return manifest_dir_; }
  std::vector<Error> TakeErrors() { return std::move(errors_); }
  // Records "<path>: <what>" (kInvalidSpec).
  void Fail(std::string_view path, std::string_view what);

  // Each reader below reports its problem with Fail and returns nullopt (or false).
  std::optional<std::string> String(const YamlNode& n, const std::string& path);
  std::optional<std::string> NonEmptyString(const YamlNode& n, const std::string& path);
  // An integer in [min, max]; the message names the range ("must be >= 1" when max is the
  // int32 or int64 maximum, else "must be between 1 and 65535").
  std::optional<int64_t> Int(const YamlNode& n, const std::string& path, int64_t min, int64_t max);
  // Whole seconds >= min, clamped to kMaxManifestSeconds.
  std::optional<std::chrono::seconds> Seconds(const YamlNode& n, const std::string& path,
                                              int64_t min);
  std::optional<bool> Bool(const YamlNode& n, const std::string& path);
  // A raw quantity: a string or a number, kept as written.
  std::optional<std::string> QuantityText(const YamlNode& n, const std::string& path);
  // A non-empty string starting with "/"; with `no_dot_dot`, also without a ".." element.
  std::optional<std::string> AbsolutePath(const YamlNode& n, const std::string& path,
                                          bool no_dot_dot);
  // One of `values` (a string), else "unsupported value "x": supported values: "A", "B"".
  std::optional<std::string> OneOf(const YamlNode& n, const std::string& path,
                                   std::initializer_list<std::string_view> values);
  // As OneOf, giving the value paired with the name.
  template <typename T>
  std::optional<T> OneOf(const YamlNode& n, const std::string& path,
                         std::initializer_list<std::pair<std::string_view, T>> values);

  bool ExpectList(const YamlNode& n, const std::string& path);
  // Calls `read(item, "<path>[i]")` for each item; false when `n` is not a list.
  bool ForEachItem(const YamlNode& n, const std::string& path,
                   const std::function<void(const YamlNode&, const std::string&)>& read);
  std::optional<std::vector<std::string>> StringList(const YamlNode& n, const std::string& path);
  // A mapping of strings to strings (labels, annotations), in document order.
  std::vector<std::pair<std::string, std::string>> StringMap(const YamlNode& n,
                                                             const std::string& path);

 private:
  // "unsupported value "x": supported values: "A", "B"".
  void FailUnsupported(const std::string& path, const std::string& value,
                       std::span<const std::string_view> values);

  std::filesystem::path manifest_dir_;
  std::vector<Error> errors_;
};

template <typename T>
std::optional<T> Reader::OneOf(const YamlNode& n, const std::string& path,
                               std::initializer_list<std::pair<std::string_view, T>> values) {
  auto s = String(n, path);
  if (!s) return std::nullopt;
  for (const auto& [name, value] : values) {
    if (name == *s) return value;
  }
  std::vector<std::string_view> names;
  for (const auto& entry : values) names.push_back(entry.first);
  FailUnsupported(path, *s, names);
  return std::nullopt;
}

// One mapping node: checks every key against the known set when constructed (reporting unknown,
// unsupported and duplicate keys in document order), then hands out values by key.
class Fields {
 public:
  // `unsupported_group` names the list of Kubernetes fields podshim refuses (reader_fields.cc),
  // reported as "not supported by podshim" rather than "unknown field".
  Fields(Reader& r, const YamlNode& node, std::string path,
         std::initializer_list<std::string_view> known, std::string_view unsupported_group = "");

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  // The value of `key`; nullptr when absent or null (Kubernetes treats null as unset).
  const YamlNode* Get(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key) != nullptr; }
  // As Get, reporting "<path>.<key>: required" when absent.
  const YamlNode* Required(std::string_view key) const;

  // Field-level shortcuts: each reads `key` into `out` when present and valid. They return false
  // when a problem was reported (a required key that is absent included), true otherwise.
  bool ReadString(std::string_view key, std::string& out) const;
  bool ReadName(std::string_view key, std::string& out) const;  // a required non-empty string
  bool ReadBool(std::string_view key, bool& out) const;

 private:
  Reader* r_;
  std::string path_;
  bool ok_ = false;
  std::vector<std::pair<std::string_view, const YamlNode*>> entries_;
};

}  // namespace podshim::shim::manifest_reader
