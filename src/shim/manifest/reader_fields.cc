// The manifest reader's shared field readers; see reader_fields.h.
#include "shim/manifest/reader_fields.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <system_error>
#include <unordered_set>

#include "common/quoted.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim::manifest_reader {
namespace {

using std::chrono::seconds;

// Field names Kubernetes has but podshim refuses, so the message says so rather than "unknown".
const std::map<std::string_view, std::vector<std::string_view>>& Unsupported() {
  static const std::map<std::string_view, std::vector<std::string_view>> kTable = {
      {"metadata", {"generateName", "uid", "ownerReferences", "finalizers"}},
      {"spec",
       {"hostPID",
        "hostIPC",
        "shareProcessNamespace",
        "securityContext",
        "nodeName",
        "nodeSelector",
        "serviceAccountName",
        "dnsPolicy",
        "hostname",
        "subdomain",
        "affinity",
        "tolerations",
        "runtimeClassName",
        "priorityClassName",
        "ephemeralContainers",
        "imagePullSecrets",
        "os",
        "hostAliases",
        "dnsConfig",
        "readinessGates",
        "schedulerName"}},
      {"container",
       {"image", "imagePullPolicy", "envFrom", "securityContext", "stdin", "stdinOnce", "tty",
        "resizePolicy", "restartPolicyRules", "terminationMessagePath", "terminationMessagePolicy",
        "volumeDevices"}},
      {"env", {"valueFrom"}},
      {"port", {"hostPort", "hostIP"}},
      {"volumeMount", {"subPath", "subPathExpr", "mountPropagation", "recursiveReadOnly"}},
      {"volume",
       {"configMap", "secret", "persistentVolumeClaim", "projected", "downwardAPI", "nfs", "csi",
        "ephemeral", "image"}},
      {"resources", {"claims"}},
      {"lifecycle", {"stopSignal"}},
      {"handler", {"tcpSocket"}},
  };
  return kTable;
}

// "-12", "+0x1f", "0o17" -> the value; nullopt when it does not fit an int64.
std::optional<int64_t> ParseYamlInt(std::string_view text) {
  int base = 10;
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.starts_with("0x")) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.starts_with("0o")) {
    base = 8;
    text.remove_prefix(2);
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (ec != std::errc() || end != text.data() + text.size() ||
      magnitude > static_cast<uint64_t>(kInt64Max)) {
    return std::nullopt;
  }
  return negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
}

}  // namespace

bool HasDotDotElement(std::string_view path) {
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(pos, end - pos) == "..") return true;
    pos = end + 1;
  }
  return false;
}

std::string ItemPath(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void Reader::Fail(std::string_view path, std::string_view what) {
  std::string msg(path);
  msg += ": ";
  msg += what;
  errors_.push_back(Error::Invalid(std::move(msg)));
}

std::optional<std::string> Reader::String(const YamlNode& n, const std::string& path) {
  if (!n.is_scalar() || n.type() != YamlScalarType::kString) {
    Fail(path, "expected a string");
    return std::nullopt;
  }
  return n.text();
}

std::optional<std::string> Reader::NonEmptyString(const YamlNode& n, const std::string& path) {
  auto s = String(n, path);
  if (s && s->empty()) {
    Fail(path, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<int64_t> Reader::Int(const YamlNode& n, const std::string& path, int64_t min,
                                   int64_t max) {
  if (!n.is_scalar() || n.type() != YamlScalarType::kInt) {
    Fail(path, "expected an integer");
    return std::nullopt;
  }
  std::optional<int64_t> v = ParseYamlInt(n.text());
  if (!v) {
    Fail(path, "integer out of range");
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    if (max == kInt64Max || max == kInt32Max) {
      Fail(path, "must be >= " + std::to_string(min));
    } else {
      Fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return std::nullopt;
  }
  return v;
}

std::optional<seconds> Reader::Seconds(const YamlNode& n, const std::string& path, int64_t min) {
  auto v = Int(n, path, min, kInt64Max);
  if (!v) return std::nullopt;
  return std::min(seconds(*v), kMaxManifestSeconds);
}

std::optional<bool> Reader::Bool(const YamlNode& n, const std::string& path) {
  if (!n.is_scalar() || n.type() != YamlScalarType::kBool) {
    Fail(path, "expected a boolean");
    return std::nullopt;
  }
  const std::string& s = n.text();
  return s == "true" || s == "True" || s == "TRUE";
}

std::optional<std::string> Reader::QuantityText(const YamlNode& n, const std::string& path) {
  if (n.is_scalar()) {
    YamlScalarType k = n.type();
    if (k == YamlScalarType::kString || k == YamlScalarType::kInt || k == YamlScalarType::kFloat) {
      return n.text();
    }
  }
  Fail(path, "expected a quantity (a string or a number)");
  return std::nullopt;
}

std::optional<std::string> Reader::AbsolutePath(const YamlNode& n, const std::string& path,
                                                bool no_dot_dot) {
  auto s = NonEmptyString(n, path);
  if (!s) return std::nullopt;
  if (s->front() != '/') {
    Fail(path, "must be an absolute path");
    return std::nullopt;
  }
  if (no_dot_dot && HasDotDotElement(*s)) {
    Fail(path, "must not contain '..'");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> Reader::OneOf(const YamlNode& n, const std::string& path,
                                         std::initializer_list<std::string_view> values) {
  auto s = String(n, path);
  if (!s) return std::nullopt;
  if (std::find(values.begin(), values.end(), *s) != values.end()) return s;
  FailUnsupported(path, *s, std::span<const std::string_view>(values.begin(), values.size()));
  return std::nullopt;
}

void Reader::FailUnsupported(const std::string& path, const std::string& value,
                             std::span<const std::string_view> values) {
  std::string msg = "unsupported value " + Quoted(value) + ": supported values: ";
  bool first = true;
  for (std::string_view v : values) {
    msg += first ? "\"" : ", \"";
    msg += v;
    msg += "\"";
    first = false;
  }
  Fail(path, msg);
}

bool Reader::ExpectList(const YamlNode& n, const std::string& path) {
  if (n.is_sequence()) return true;
  Fail(path, "expected a list");
  return false;
}

bool Reader::ForEachItem(const YamlNode& n, const std::string& path,
                         const std::function<void(const YamlNode&, const std::string&)>& read) {
  if (!ExpectList(n, path)) return false;
  for (size_t i = 0; i < n.size(); ++i) read(n.item(i), ItemPath(path, i));
  return true;
}

std::optional<std::vector<std::string>> Reader::StringList(const YamlNode& n,
                                                           const std::string& path) {
  std::vector<std::string> out;
  bool ok = true;
  bool is_list = ForEachItem(n, path, [&](const YamlNode& item, const std::string& item_path) {
    if (auto s = String(item, item_path)) {
      out.push_back(std::move(*s));
    } else {
      ok = false;
    }
  });
  if (!is_list || !ok) return std::nullopt;
  return out;
}

std::vector<std::pair<std::string, std::string>> Reader::StringMap(const YamlNode& n,
                                                                   const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!n.is_mapping()) {
    Fail(path, "expected an object");
    return out;
  }
  std::unordered_set<std::string_view> seen;  // a set, so 100,000 labels stay linear
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n.key(i).is_scalar()) {
      Fail(path, "keys must be strings");
      continue;
    }
    std::string key = n.key(i).text();
    std::string key_path = path + "." + key;
    if (!seen.insert(n.key(i).text()).second) {
      Fail(key_path, "duplicate field");
      continue;
    }
    if (auto v = String(n.value(i), key_path)) out.emplace_back(std::move(key), std::move(*v));
  }
  return out;
}

Fields::Fields(Reader& r, const YamlNode& node, std::string path,
               std::initializer_list<std::string_view> known, std::string_view unsupported_group)
    : r_(&r), path_(std::move(path)) {
  const std::string where = path_.empty() ? std::string("manifest") : path_;
  if (!node.is_mapping()) {
    r.Fail(where, "expected an object");
    return;
  }
  ok_ = true;
  for (size_t i = 0; i < node.size(); ++i) {
    if (!node.key(i).is_scalar()) {
      r.Fail(where, "field names must be strings");
      continue;
    }
    const std::string& key = node.key(i).text();
    std::string key_path = Path(key);
    bool duplicate = false;
    for (const auto& e : entries_) duplicate = duplicate || e.first == key;
    if (duplicate) {
      r.Fail(key_path, "duplicate field");
      continue;
    }
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      bool unsupported = false;
      if (!unsupported_group.empty()) {
        const std::vector<std::string_view>& names = Unsupported().at(unsupported_group);
        unsupported = std::find(names.begin(), names.end(), key) != names.end();
      }
      r.Fail(key_path, unsupported ? "not supported by podshim" : "unknown field");
      continue;
    }
    entries_.emplace_back(key, &node.value(i));
  }
}

const YamlNode* Fields::Get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return v->is_null() ? nullptr : v;
  }
  return nullptr;
}

const YamlNode* Fields::Required(std::string_view key) const {
  const YamlNode* v = Get(key);
  if (!v) r_->Fail(Path(key), "required");
  return v;
}

bool Fields::ReadString(std::string_view key, std::string& out) const {
  const YamlNode* v = Get(key);
  if (!v) return true;
  auto s = r_->String(*v, Path(key));
  if (s) out = std::move(*s);
  return s.has_value();
}

bool Fields::ReadName(std::string_view key, std::string& out) const {
  const YamlNode* v = Required(key);
  if (!v) return false;
  auto s = r_->NonEmptyString(*v, Path(key));
  if (s) out = std::move(*s);
  return s.has_value();
}

bool Fields::ReadBool(std::string_view key, bool& out) const {
  const YamlNode* v = Get(key);
  if (!v) return true;
  auto b = r_->Bool(*v, Path(key));
  if (b) out = *b;
  return b.has_value();
}

}  // namespace podshim::shim::manifest_reader
