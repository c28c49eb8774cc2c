// The strict manifest reader: YAML (and so JSON) text -> Pod, collecting every problem with its
// path. The YAML library is behind shim/yaml_document.h, which bounds the work per input; the
// file is read with a size cap. Cross-field rules
// (duplicate names, roles, volume references) live in manifest_validate.cc.
#include "shim/manifest/manifest.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <map>
#include <system_error>
#include <unordered_set>

#include "cgroups/quantity.h"
#include "common/quoted.h"
#include "common/sys.h"
#include "shim/manifest/manifest_validate.h"
#include "shim/manifest/yaml_document.h"

namespace podshim::shim {
namespace {

// Kubernetes validatePathNoBacksteps: no ".." element (hostPath.path; podshim also refuses it
// in mountPath, see docs/decisions.md).
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

// Kubernetes IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]*, and not ".", ".." or "..<more>". An
// empty string means the name is fine.
std::string EnvVarNameProblem(std::string_view name) {
  bool ok = !name.empty() && !(name.front() >= '0' && name.front() <= '9');
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_');
  }
  if (!ok) {
    return "it must consist of letters, digits, '_', '-' or '.', and must not start with a digit";
  }
  if (name == ".") return "must not be '.'";
  if (name == "..") return "must not be '..'";
  if (name.starts_with("..")) return "must not start with '..'";
  return {};
}

using std::chrono::seconds;

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

bool IsAbsent(const YamlNode& n) { return n.is_null(); }

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

class Reader;

// One mapping node: checks every key against the known set when constructed (reporting unknown,
// unsupported and duplicate keys in document order), then hands out values by key.
class Fields {
 public:
  Fields(Reader& r, const YamlNode& node, std::string path,
         std::initializer_list<std::string_view> known, std::string_view unsupported_group = "");

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  // The value of `key`; nullptr when absent or null (Kubernetes treats null as unset).
  const YamlNode* Get(std::string_view key) const {
    for (const auto& [k, v] : entries_) {
      if (k == key) return IsAbsent(*v) ? nullptr : v;
    }
    return nullptr;
  }
  bool Has(std::string_view key) const { return Get(key) != nullptr; }

 private:
  std::string path_;
  bool ok_ = false;
  std::vector<std::pair<std::string_view, const YamlNode*>> entries_;
};

class Reader {
 public:
  explicit Reader(std::filesystem::path manifest_dir) : manifest_dir_(std::move(manifest_dir)) {}

  std::vector<Error> TakeErrors() { return std::move(errors_); }

  void Fail(std::string_view path, std::string_view what) {
    std::string msg(path);
    msg += ": ";
    msg += what;
    errors_.push_back(Error::Invalid(std::move(msg)));
  }

  Pod ReadPod(const YamlNode& root);

  // ---- scalars ----
  std::optional<std::string> String(const YamlNode& n, const std::string& path) {
    if (!n.is_scalar() || n.type() != YamlScalarType::kString) {
      Fail(path, "expected a string");
      return std::nullopt;
    }
    return n.text();
  }

  std::optional<std::string> NonEmptyString(const YamlNode& n, const std::string& path) {
    auto s = String(n, path);
    if (s && s->empty()) {
      Fail(path, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<int64_t> Int(const YamlNode& n, const std::string& path, int64_t min, int64_t max) {
    if (!n.is_scalar() || n.type() != YamlScalarType::kInt) {
      Fail(path, "expected an integer");
      return std::nullopt;
    }
    std::string_view text = n.text();
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
        magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Fail(path, "integer out of range");
      return std::nullopt;
    }
    int64_t v = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    if (v < min || v > max) {
      if (max == std::numeric_limits<int64_t>::max() || max == kInt32Max) {
        Fail(path, "must be >= " + std::to_string(min));
      } else {
        Fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      }
      return std::nullopt;
    }
    return v;
  }

  std::optional<seconds> Seconds(const YamlNode& n, const std::string& path, int64_t min) {
    auto v = Int(n, path, min, std::numeric_limits<int64_t>::max());
    if (!v) return std::nullopt;
    return std::min(seconds(*v), kMaxManifestSeconds);
  }

  std::optional<bool> Bool(const YamlNode& n, const std::string& path) {
    if (!n.is_scalar() || n.type() != YamlScalarType::kBool) {
      Fail(path, "expected a boolean");
      return std::nullopt;
    }
    const std::string& s = n.text();
    return s == "true" || s == "True" || s == "TRUE";
  }

  // A raw quantity: a string or a number, kept as written.
  std::optional<std::string> QuantityText(const YamlNode& n, const std::string& path) {
    if (n.is_scalar()) {
      YamlScalarType k = n.type();
      if (k == YamlScalarType::kString || k == YamlScalarType::kInt ||
          k == YamlScalarType::kFloat) {
        return n.text();
      }
    }
    Fail(path, "expected a quantity (a string or a number)");
    return std::nullopt;
  }

  bool ExpectList(const YamlNode& n, const std::string& path) {
    if (n.is_sequence()) return true;
    Fail(path, "expected a list");
    return false;
  }

  std::optional<std::vector<std::string>> StringList(const YamlNode& n, const std::string& path) {
    if (!ExpectList(n, path)) return std::nullopt;
    std::vector<std::string> out;
    bool ok = true;
    for (size_t i = 0; i < n.size(); ++i) {
      auto s = String(n.item(i), path + "[" + std::to_string(i) + "]");
      if (s) {
        out.push_back(std::move(*s));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::vector<std::pair<std::string, std::string>> StringMap(const YamlNode& n,
                                                             const std::string& path);

  // ---- composite pieces ----
  ResourceList ReadResourceList(const YamlNode& n, const std::string& path);
  ResourceRequirements ReadResources(const YamlNode& n, const std::string& path);
  std::optional<Volume> ReadVolume(const YamlNode& n, const std::string& path);
  Container ReadContainer(const YamlNode& n, const std::string& path, bool is_init);
  std::optional<Probe> ReadProbe(const YamlNode& n, const std::string& path,
                                 const std::vector<ContainerPort>& ports);
  std::optional<LifecycleHandler> ReadLifecycleHandler(const YamlNode& n, const std::string& path,
                                                       const std::vector<ContainerPort>& ports);
  std::optional<ExecAction> ReadExec(const YamlNode& n, const std::string& path);
  std::optional<HttpGetAction> ReadHttpGet(const YamlNode& n, const std::string& path,
                                           const std::vector<ContainerPort>& ports);
  std::optional<TcpSocketAction> ReadTcpSocket(const YamlNode& n, const std::string& path,
                                               const std::vector<ContainerPort>& ports);
  std::optional<GrpcAction> ReadGrpc(const YamlNode& n, const std::string& path);
  // An IntOrString port: a number, or the name of one of the container's ports.
  std::optional<std::pair<int, std::string>> ReadPort(const YamlNode& n, const std::string& path,
                                                      const std::vector<ContainerPort>& ports);

 private:
  std::filesystem::path manifest_dir_;
  std::vector<Error> errors_;
};

Fields::Fields(Reader& r, const YamlNode& node, std::string path,
               std::initializer_list<std::string_view> known, std::string_view unsupported_group)
    : path_(std::move(path)) {
  if (!node.is_mapping()) {
    r.Fail(path_.empty() ? "manifest" : path_, "expected an object");
    return;
  }
  ok_ = true;
  for (size_t i = 0; i < node.size(); ++i) {
    if (!node.key(i).is_scalar()) {
      r.Fail(path_.empty() ? "manifest" : path_, "field names must be strings");
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
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || k == key;
    if (!is_known) {
      bool unsupported = false;
      if (!unsupported_group.empty()) {
        for (std::string_view k : Unsupported().at(unsupported_group)) {
          unsupported = unsupported || k == key;
        }
      }
      r.Fail(key_path, unsupported ? "not supported by podshim" : "unknown field");
      continue;
    }
    entries_.emplace_back(key, &node.value(i));
  }
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

bool IsKnownResourceName(std::string_view name) {
  return name == "cpu" || name == "memory" || name == "ephemeral-storage" ||
         (name.starts_with("hugepages-") && name.size() > 10) ||
         // Extended resources ("example.com/gpu") are accepted and ignored by the cgroup math.
         (name.find('/') != std::string_view::npos && name.front() != '/' && name.back() != '/');
}

ResourceList Reader::ReadResourceList(const YamlNode& n, const std::string& path) {
  ResourceList out;
  if (!n.is_mapping()) {
    Fail(path, "expected an object");
    return out;
  }
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n.key(i).is_scalar()) {
      Fail(path, "resource names must be strings");
      continue;
    }
    std::string name = n.key(i).text();
    std::string key_path = path + "." + name;
    if (!seen.insert(n.key(i).text()).second) {
      Fail(key_path, "duplicate field");
      continue;
    }
    if (!IsKnownResourceName(name)) {
      Fail(key_path, "unknown field");
      continue;
    }
    if (IsAbsent(n.value(i))) {
      Fail(key_path, "expected a quantity (a string or a number)");
      continue;
    }
    if (auto v = QuantityText(n.value(i), key_path)) {
      out.push_back(QuantityField{std::move(name), std::move(*v), key_path});
    }
  }
  return out;
}

ResourceRequirements Reader::ReadResources(const YamlNode& n, const std::string& path) {
  ResourceRequirements out;
  Fields f(*this, n, path, {"requests", "limits"}, "resources");
  if (!f.ok()) return out;
  if (auto* v = f.Get("requests")) out.requests = ReadResourceList(*v, f.Path("requests"));
  if (auto* v = f.Get("limits")) out.limits = ReadResourceList(*v, f.Path("limits"));
  return out;
}

std::optional<Volume> Reader::ReadVolume(const YamlNode& n, const std::string& path) {
  Fields f(*this, n, path, {"name", "emptyDir", "hostPath"}, "volume");
  if (!f.ok()) return std::nullopt;
  Volume vol;
  if (auto* v = f.Get("name")) {
    if (auto s = NonEmptyString(*v, f.Path("name"))) vol.name = *s;
  } else {
    Fail(f.Path("name"), "required");
  }
  int sources = (f.Has("emptyDir") ? 1 : 0) + (f.Has("hostPath") ? 1 : 0);
  if (sources != 1) {
    Fail(path, sources == 0 ? "must specify a volume source (emptyDir or hostPath)"
                            : "may not specify more than one volume source");
    return vol;
  }
  if (auto* v = f.Get("emptyDir")) {
    EmptyDirVolume ed;
    Fields e(*this, *v, f.Path("emptyDir"), {"medium", "sizeLimit"});
    if (e.ok()) {
      if (auto* m = e.Get("medium")) {
        if (auto s = String(*m, e.Path("medium"))) {
          if (*s == "" || *s == "Memory") {
            ed.medium = *s;
          } else {
            Fail(e.Path("medium"),
                 "unsupported value " + Quoted(*s) + ": supported values: \"\", \"Memory\"");
          }
        }
      }
      if (auto* q = e.Get("sizeLimit")) {
        if (auto s = QuantityText(*q, e.Path("sizeLimit"))) {
          // Checked here, so that `validate` and `run` refuse the same sizes (exit 2).
          Result<int64_t> bytes = cgroups::ParseResourceQuantity("memory", *s);
          if (bytes) {
            ed.size_limit = QuantityField{"sizeLimit", *s, e.Path("sizeLimit")};
          } else {
            Fail(e.Path("sizeLimit"), bytes.error().ToString());
          }
        }
      }
    }
    vol.source = std::move(ed);
  } else if (auto* v = f.Get("hostPath")) {
    HostPathVolume hp;
    Fields h(*this, *v, f.Path("hostPath"), {"path", "type"});
    if (h.ok()) {
      if (auto* p = h.Get("path")) {
        if (auto s = NonEmptyString(*p, h.Path("path"))) {
          if (s->front() != '/') {
            Fail(h.Path("path"), "must be an absolute path");
          } else if (HasDotDotElement(*s)) {
            Fail(h.Path("path"), "must not contain '..'");
          } else {
            hp.path = *s;
          }
        }
      } else {
        Fail(h.Path("path"), "required");
      }
      if (auto* t = h.Get("type")) {
        static constexpr std::string_view kTypes[] = {
            "",       "DirectoryOrCreate", "Directory",  "FileOrCreate", "File",
            "Socket", "CharDevice",        "BlockDevice"};
        if (auto s = String(*t, h.Path("type"))) {
          bool ok = false;
          for (std::string_view k : kTypes) ok = ok || k == *s;
          if (ok) {
            hp.type = *s;
          } else {
            Fail(h.Path("type"), "unsupported value " + Quoted(*s) +
                                     ": supported values: \"\", \"DirectoryOrCreate\", "
                                     "\"Directory\", \"FileOrCreate\", \"File\", \"Socket\", "
                                     "\"CharDevice\", \"BlockDevice\"");
          }
        }
      }
    }
    vol.source = std::move(hp);
  }
  return vol;
}

std::optional<ExecAction> Reader::ReadExec(const YamlNode& n, const std::string& path) {
  Fields f(*this, n, path, {"command"});
  if (!f.ok()) return std::nullopt;
  const YamlNode* c = f.Get("command");
  if (!c) {
    Fail(f.Path("command"), "required");
    return std::nullopt;
  }
  auto cmd = StringList(*c, f.Path("command"));
  if (!cmd) return std::nullopt;
  if (cmd->empty()) {
    Fail(f.Path("command"), "must not be empty");
    return std::nullopt;
  }
  return ExecAction{std::move(*cmd)};
}

std::optional<std::pair<int, std::string>> Reader::ReadPort(
    const YamlNode& n, const std::string& path, const std::vector<ContainerPort>& ports) {
  if (n.is_scalar() && n.type() == YamlScalarType::kInt) {
    auto v = Int(n, path, 1, 65535);
    if (!v) return std::nullopt;
    return std::pair<int, std::string>(static_cast<int>(*v), "");
  }
  if (n.is_scalar() && n.type() == YamlScalarType::kString) {
    const std::string& name = n.text();
    for (const ContainerPort& p : ports) {
      if (!p.name.empty() && p.name == name) {
        return std::pair<int, std::string>(p.container_port, name);
      }
    }
    Fail(path, "no container port named " + Quoted(name));
    return std::nullopt;
  }
  Fail(path, "expected a port number or a container port name");
  return std::nullopt;
}

std::optional<HttpGetAction> Reader::ReadHttpGet(const YamlNode& n, const std::string& path,
                                                 const std::vector<ContainerPort>& ports) {
  Fields f(*this, n, path, {"port", "path", "host", "scheme", "httpHeaders"});
  if (!f.ok()) return std::nullopt;
  HttpGetAction a;
  bool ok = true;
  if (auto* v = f.Get("port")) {
    auto p = ReadPort(*v, f.Path("port"), ports);
    ok = ok && p;
    if (p) std::tie(a.port, a.port_name) = *p;
  } else {
    Fail(f.Path("port"), "required");
    ok = false;
  }
  if (auto* v = f.Get("path")) {
    if (auto s = String(*v, f.Path("path"))) {
      if (!s->empty() && s->front() != '/') {
        Fail(f.Path("path"), "must start with \"/\"");
        ok = false;
      } else if (!s->empty()) {
        a.path = *s;
      }
    } else {
      ok = false;
    }
  }
  if (auto* v = f.Get("host")) {
    if (auto s = String(*v, f.Path("host")))
      a.host = *s;
    else
      ok = false;
  }
  if (auto* v = f.Get("scheme")) {
    if (auto s = String(*v, f.Path("scheme"))) {
      if (*s == "HTTP") {
        a.scheme = HttpScheme::kHttp;
      } else if (*s == "HTTPS") {
        a.scheme = HttpScheme::kHttps;
      } else {
        Fail(f.Path("scheme"),
             "unsupported value " + Quoted(*s) + ": supported values: \"HTTP\", \"HTTPS\"");
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (auto* v = f.Get("httpHeaders")) {
    std::string hp = f.Path("httpHeaders");
    if (ExpectList(*v, hp)) {
      for (size_t i = 0; i < v->size(); ++i) {
        std::string ip = hp + "[" + std::to_string(i) + "]";
        Fields h(*this, v->item(i), ip, {"name", "value"});
        if (!h.ok()) {
          ok = false;
          continue;
        }
        HttpHeader header;
        if (auto* nm = h.Get("name")) {
          if (auto s = NonEmptyString(*nm, h.Path("name")))
            header.name = *s;
          else
            ok = false;
        } else {
          Fail(h.Path("name"), "required");
          ok = false;
        }
        if (auto* val = h.Get("value")) {
          if (auto s = String(*val, h.Path("value")))
            header.value = *s;
          else
            ok = false;
        }
        a.http_headers.push_back(std::move(header));
      }
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return a;
}

std::optional<TcpSocketAction> Reader::ReadTcpSocket(const YamlNode& n, const std::string& path,
                                                     const std::vector<ContainerPort>& ports) {
  Fields f(*this, n, path, {"port", "host"});
  if (!f.ok()) return std::nullopt;
  TcpSocketAction a;
  bool ok = true;
  if (auto* v = f.Get("port")) {
    auto p = ReadPort(*v, f.Path("port"), ports);
    ok = ok && p;
    if (p) std::tie(a.port, a.port_name) = *p;
  } else {
    Fail(f.Path("port"), "required");
    ok = false;
  }
  if (auto* v = f.Get("host")) {
    if (auto s = String(*v, f.Path("host")))
      a.host = *s;
    else
      ok = false;
  }
  if (!ok) return std::nullopt;
  return a;
}

std::optional<GrpcAction> Reader::ReadGrpc(const YamlNode& n, const std::string& path) {
  Fields f(*this, n, path, {"port", "service"});
  if (!f.ok()) return std::nullopt;
  GrpcAction a;
  bool ok = true;
  if (auto* v = f.Get("port")) {
    auto p = Int(*v, f.Path("port"), 1, 65535);
    ok = ok && p;
    if (p) a.port = static_cast<int>(*p);
  } else {
    Fail(f.Path("port"), "required");
    ok = false;
  }
  if (auto* v = f.Get("service")) {
    if (auto s = String(*v, f.Path("service")))
      a.service = *s;
    else
      ok = false;
  }
  if (!ok) return std::nullopt;
  return a;
}

std::optional<Probe> Reader::ReadProbe(const YamlNode& n, const std::string& path,
                                       const std::vector<ContainerPort>& ports) {
  Fields f(
      *this, n, path,
      {"exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds", "periodSeconds",
       "timeoutSeconds", "successThreshold", "failureThreshold", "terminationGracePeriodSeconds"});
  if (!f.ok()) return std::nullopt;
  Probe probe;
  bool ok = true;
  int handlers = 0;
  for (std::string_view h : {"exec", "httpGet", "tcpSocket", "grpc"}) handlers += f.Has(h);
  if (handlers != 1) {
    Fail(path, handlers == 0
                   ? "must specify a handler (exec, httpGet, tcpSocket or grpc)"
                   : "may not specify more than one handler (exec, httpGet, tcpSocket, grpc)");
    ok = false;
  } else if (auto* v = f.Get("exec")) {
    auto a = ReadExec(*v, f.Path("exec"));
    ok = ok && a;
    if (a) probe.handler = std::move(*a);
  } else if (auto* v = f.Get("httpGet")) {
    auto a = ReadHttpGet(*v, f.Path("httpGet"), ports);
    ok = ok && a;
    if (a) probe.handler = std::move(*a);
  } else if (auto* v = f.Get("tcpSocket")) {
    auto a = ReadTcpSocket(*v, f.Path("tcpSocket"), ports);
    ok = ok && a;
    if (a) probe.handler = std::move(*a);
  } else if (auto* v = f.Get("grpc")) {
    auto a = ReadGrpc(*v, f.Path("grpc"));
    ok = ok && a;
    if (a) probe.handler = std::move(*a);
  }
  auto seconds_field = [&](std::string_view key, int64_t min, seconds& out) {
    if (auto* v = f.Get(key)) {
      auto s = Int(*v, f.Path(key), min, kInt32Max);
      ok = ok && s;
      if (s) out = seconds(*s);
    }
  };
  auto int_field = [&](std::string_view key, int& out) {
    if (auto* v = f.Get(key)) {
      auto s = Int(*v, f.Path(key), 1, kInt32Max);
      ok = ok && s;
      if (s) out = static_cast<int>(*s);
    }
  };
  seconds_field("initialDelaySeconds", 0, probe.initial_delay);
  seconds_field("periodSeconds", 1, probe.period);
  seconds_field("timeoutSeconds", 1, probe.timeout);
  int_field("successThreshold", probe.success_threshold);
  int_field("failureThreshold", probe.failure_threshold);
  if (auto* v = f.Get("terminationGracePeriodSeconds")) {
    auto s = Seconds(*v, f.Path("terminationGracePeriodSeconds"), 1);
    ok = ok && s;
    if (s) probe.termination_grace_period = *s;
  }
  if (!ok) return std::nullopt;
  return probe;
}

std::optional<LifecycleHandler> Reader::ReadLifecycleHandler(
    const YamlNode& n, const std::string& path, const std::vector<ContainerPort>& ports) {
  Fields f(*this, n, path, {"exec", "httpGet", "sleep"}, "handler");
  if (!f.ok()) return std::nullopt;
  int handlers = f.Has("exec") + f.Has("httpGet") + f.Has("sleep");
  if (handlers != 1) {
    Fail(path, handlers == 0 ? "must specify a handler (exec, httpGet or sleep)"
                             : "may not specify more than one handler (exec, httpGet, sleep)");
    return std::nullopt;
  }
  if (auto* v = f.Get("exec")) {
    auto a = ReadExec(*v, f.Path("exec"));
    if (!a) return std::nullopt;
    return LifecycleHandler(std::move(*a));
  }
  if (auto* v = f.Get("httpGet")) {
    auto a = ReadHttpGet(*v, f.Path("httpGet"), ports);
    if (!a) return std::nullopt;
    return LifecycleHandler(std::move(*a));
  }
  const YamlNode* v = f.Get("sleep");
  Fields s(*this, *v, f.Path("sleep"), {"seconds"});
  if (!s.ok()) return std::nullopt;
  const YamlNode* secs = s.Get("seconds");
  if (!secs) {
    Fail(s.Path("seconds"), "required");
    return std::nullopt;
  }
  auto d = Seconds(*secs, s.Path("seconds"), 0);
  if (!d) return std::nullopt;
  return LifecycleHandler(SleepAction{*d});
}

Container Reader::ReadContainer(const YamlNode& n, const std::string& path, bool is_init) {
  Container c;
  c.is_init = is_init;
  Fields f(
      *this, n, path,
      {"name", "bundle", "restartPolicy", "command", "args", "env", "workingDir", "ports",
       "volumeMounts", "resources", "startupProbe", "readinessProbe", "livenessProbe", "lifecycle"},
      "container");
  if (!f.ok()) return c;
  if (auto* v = f.Get("name")) {
    if (auto s = NonEmptyString(*v, f.Path("name"))) c.name = *s;
  } else {
    Fail(f.Path("name"), "required");
  }
  if (auto* v = f.Get("bundle")) {
    if (auto s = NonEmptyString(*v, f.Path("bundle"))) {
      std::filesystem::path b(*s);
      c.bundle = (b.is_absolute() ? b : manifest_dir_ / b).lexically_normal();
    }
  } else {
    Fail(f.Path("bundle"), "required");
  }
  if (auto* v = f.Get("restartPolicy")) {
    if (auto s = String(*v, f.Path("restartPolicy"))) {
      if (*s == "Always") {
        c.restart_policy = ContainerRestartPolicy::kAlways;
      } else {
        Fail(f.Path("restartPolicy"),
             "unsupported value " + Quoted(*s) + ": supported values: \"Always\"");
      }
    }
  }
  // An empty list is "not set", as in Kubernetes (kubelet overrides the image's entrypoint and
  // cmd only when len(command) / len(args) != 0): the bundle's process.args are used.
  if (auto* v = f.Get("command")) c.command = StringList(*v, f.Path("command"));
  if (c.command && c.command->empty()) c.command.reset();
  if (auto* v = f.Get("args")) c.args = StringList(*v, f.Path("args"));
  if (c.args && c.args->empty()) c.args.reset();
  if (auto* v = f.Get("env")) {
    std::string ep = f.Path("env");
    if (ExpectList(*v, ep)) {
      for (size_t i = 0; i < v->size(); ++i) {
        std::string ip = ep + "[" + std::to_string(i) + "]";
        Fields e(*this, v->item(i), ip, {"name", "value"}, "env");
        if (!e.ok()) continue;
        EnvVar var;
        if (auto* nm = e.Get("name")) {
          if (auto s = NonEmptyString(*nm, e.Path("name"))) {
            if (s->find('\0') != std::string::npos) {
              Fail(e.Path("name"), "must not contain a NUL character");
            } else if (s->find('=') != std::string::npos) {
              Fail(e.Path("name"), "must not contain \"=\"");
            } else if (std::string problem = EnvVarNameProblem(*s); !problem.empty()) {
              Fail(e.Path("name"),
                   Quoted(*s) + " is not a valid environment variable name: " + problem);
            } else {
              var.name = *s;
            }
          }
        } else {
          Fail(e.Path("name"), "required");
        }
        if (auto* val = e.Get("value")) {
          if (auto s = String(*val, e.Path("value"))) {
            if (s->find('\0') != std::string::npos) {  // execve could not pass it on
              Fail(e.Path("value"), "must not contain a NUL character");
            } else {
              var.value = *s;
            }
          }
        }
        if (!var.name.empty()) c.env.push_back(std::move(var));
      }
    }
  }
  if (auto* v = f.Get("workingDir")) {
    if (auto s = NonEmptyString(*v, f.Path("workingDir"))) {
      if (s->front() != '/') {
        Fail(f.Path("workingDir"), "must be an absolute path");
      } else {
        c.working_dir = *s;
      }
    }
  }
  if (auto* v = f.Get("ports")) {
    std::string pp = f.Path("ports");
    if (ExpectList(*v, pp)) {
      for (size_t i = 0; i < v->size(); ++i) {
        std::string ip = pp + "[" + std::to_string(i) + "]";
        Fields p(*this, v->item(i), ip, {"name", "containerPort", "protocol"}, "port");
        if (!p.ok()) continue;
        ContainerPort port;
        if (auto* nm = p.Get("name")) {
          if (auto s = NonEmptyString(*nm, p.Path("name"))) port.name = *s;
        }
        if (auto* cp = p.Get("containerPort")) {
          if (auto num = Int(*cp, p.Path("containerPort"), 1, 65535)) {
            port.container_port = static_cast<int>(*num);
          }
        } else {
          Fail(p.Path("containerPort"), "required");
        }
        if (auto* pr = p.Get("protocol")) {
          if (auto s = String(*pr, p.Path("protocol"))) {
            if (*s == "TCP" || *s == "UDP" || *s == "SCTP") {
              port.protocol = *s;
            } else {
              Fail(p.Path("protocol"), "unsupported value " + Quoted(*s) +
                                           ": supported values: \"TCP\", \"UDP\", \"SCTP\"");
            }
          }
        }
        c.ports.push_back(std::move(port));
      }
    }
  }
  if (auto* v = f.Get("volumeMounts")) {
    std::string mp = f.Path("volumeMounts");
    if (ExpectList(*v, mp)) {
      for (size_t i = 0; i < v->size(); ++i) {
        std::string ip = mp + "[" + std::to_string(i) + "]";
        Fields m(*this, v->item(i), ip, {"name", "mountPath", "readOnly"}, "volumeMount");
        VolumeMount mount;
        if (m.ok()) {
          if (auto* nm = m.Get("name")) {
            if (auto s = NonEmptyString(*nm, m.Path("name"))) mount.name = *s;
          } else {
            Fail(m.Path("name"), "required");
          }
          if (auto* p = m.Get("mountPath")) {
            if (auto s = NonEmptyString(*p, m.Path("mountPath"))) {
              if (s->front() != '/') {
                Fail(m.Path("mountPath"), "must be an absolute path");
              } else if (HasDotDotElement(*s)) {
                Fail(m.Path("mountPath"), "must not contain '..'");
              } else {
                mount.mount_path = *s;
              }
            }
          } else {
            Fail(m.Path("mountPath"), "required");
          }
          if (auto* ro = m.Get("readOnly")) {
            if (auto b = Bool(*ro, m.Path("readOnly"))) mount.read_only = *b;
          }
        }
        // Kept even when broken so list indexes stay those of the manifest.
        c.volume_mounts.push_back(std::move(mount));
      }
    }
  }
  if (auto* v = f.Get("resources")) c.resources = ReadResources(*v, f.Path("resources"));
  // Probes and hooks come after ports, whatever the field order, so named ports resolve.
  if (auto* v = f.Get("startupProbe"))
    c.startup_probe = ReadProbe(*v, f.Path("startupProbe"), c.ports);
  if (auto* v = f.Get("readinessProbe")) {
    c.readiness_probe = ReadProbe(*v, f.Path("readinessProbe"), c.ports);
  }
  if (auto* v = f.Get("livenessProbe")) {
    c.liveness_probe = ReadProbe(*v, f.Path("livenessProbe"), c.ports);
  }
  if (auto* v = f.Get("lifecycle")) {
    Fields l(*this, *v, f.Path("lifecycle"), {"postStart", "preStop"}, "lifecycle");
    if (l.ok()) {
      if (auto* h = l.Get("postStart")) {
        c.lifecycle.post_start = ReadLifecycleHandler(*h, l.Path("postStart"), c.ports);
      }
      if (auto* h = l.Get("preStop")) {
        c.lifecycle.pre_stop = ReadLifecycleHandler(*h, l.Path("preStop"), c.ports);
      }
    }
  }
  return c;
}

Pod Reader::ReadPod(const YamlNode& root) {
  Pod pod;
  Fields top(*this, root, "", {"apiVersion", "kind", "metadata", "spec"});
  if (!top.ok()) return pod;
  if (auto* v = top.Get("apiVersion")) {
    if (auto s = String(*v, "apiVersion"); s && *s != "v1") {
      Fail("apiVersion", "unsupported value " + Quoted(*s) + ": supported values: \"v1\"");
    }
  } else {
    Fail("apiVersion", "required");
  }
  if (auto* v = top.Get("kind")) {
    if (auto s = String(*v, "kind"); s && *s != "Pod") {
      Fail("kind", "unsupported value " + Quoted(*s) + ": supported values: \"Pod\"");
    }
  } else {
    Fail("kind", "required");
  }
  if (auto* v = top.Get("metadata")) {
    Fields m(*this, *v, "metadata", {"name", "namespace", "labels", "annotations"}, "metadata");
    if (m.ok()) {
      if (auto* n = m.Get("name")) {
        if (auto s = NonEmptyString(*n, "metadata.name")) pod.metadata.name = *s;
      } else {
        Fail("metadata.name", "required");
      }
      if (auto* n = m.Get("namespace")) {
        if (auto s = String(*n, "metadata.namespace")) pod.metadata.namespace_name = *s;
      }
      if (auto* n = m.Get("labels")) pod.metadata.labels = StringMap(*n, "metadata.labels");
      if (auto* n = m.Get("annotations")) {
        pod.metadata.annotations = StringMap(*n, "metadata.annotations");
      }
    }
  } else {
    Fail("metadata.name", "required");
  }
  const YamlNode* spec_node = top.Get("spec");
  if (!spec_node) {
    Fail("spec", "required");
    return pod;
  }
  Fields s(*this, *spec_node, "spec",
           {"restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds", "overhead",
            "hostNetwork", "volumes", "initContainers", "containers", "resources"},
           "spec");
  if (!s.ok()) return pod;
  PodSpec& spec = pod.spec;
  if (auto* v = s.Get("restartPolicy")) {
    if (auto p = String(*v, s.Path("restartPolicy"))) {
      if (*p == "Always") {
        spec.restart_policy = PodRestartPolicy::kAlways;
      } else if (*p == "OnFailure") {
        spec.restart_policy = PodRestartPolicy::kOnFailure;
      } else if (*p == "Never") {
        spec.restart_policy = PodRestartPolicy::kNever;
      } else {
        Fail(s.Path("restartPolicy"), "unsupported value " + Quoted(*p) +
                                          ": supported values: \"Always\", \"OnFailure\", "
                                          "\"Never\"");
      }
    }
  }
  if (auto* v = s.Get("terminationGracePeriodSeconds")) {
    if (auto d = Seconds(*v, s.Path("terminationGracePeriodSeconds"), 0)) {
      spec.termination_grace_period = *d;
    }
  }
  if (auto* v = s.Get("activeDeadlineSeconds")) {
    spec.active_deadline = Seconds(*v, s.Path("activeDeadlineSeconds"), 1);
  }
  if (auto* v = s.Get("overhead")) spec.overhead = ReadResourceList(*v, s.Path("overhead"));
  if (auto* v = s.Get("hostNetwork")) {
    if (auto b = Bool(*v, s.Path("hostNetwork"))) spec.host_network = *b;
  }
  if (auto* v = s.Get("volumes")) {
    std::string vp = s.Path("volumes");
    if (ExpectList(*v, vp)) {
      for (size_t i = 0; i < v->size(); ++i) {
        auto vol = ReadVolume(v->item(i), vp + "[" + std::to_string(i) + "]");
        // Kept even when broken so list indexes stay those of the manifest.
        spec.volumes.push_back(vol ? std::move(*vol) : Volume{});
      }
    }
  }
  if (auto* v = s.Get("initContainers")) {
    std::string cp = s.Path("initContainers");
    if (ExpectList(*v, cp)) {
      for (size_t i = 0; i < v->size(); ++i) {
        spec.init_containers.push_back(
            ReadContainer(v->item(i), cp + "[" + std::to_string(i) + "]", /*is_init=*/true));
      }
    }
  }
  if (auto* v = s.Get("containers")) {
    std::string cp = s.Path("containers");
    if (ExpectList(*v, cp)) {
      if (v->size() == 0) Fail(cp, "must have at least one container");
      for (size_t i = 0; i < v->size(); ++i) {
        spec.containers.push_back(
            ReadContainer(v->item(i), cp + "[" + std::to_string(i) + "]", /*is_init=*/false));
      }
    }
  } else {
    Fail(s.Path("containers"), "required");
  }
  if (auto* v = s.Get("resources")) spec.resources = ReadResources(*v, s.Path("resources"));
  return pod;
}

}  // namespace

const QuantityField* FindQuantity(const ResourceList& list, std::string_view name) {
  for (const QuantityField& q : list) {
    if (q.name == name) return &q;
  }
  return nullptr;
}

const Container* FindContainer(const PodSpec& spec, std::string_view name) {
  for (const auto* list : {&spec.init_containers, &spec.containers}) {
    for (const Container& c : *list) {
      if (c.name == name) return &c;
    }
  }
  return nullptr;
}

std::string_view ProbeKindName(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kStartup:
      return "startup";
    case ProbeKind::kReadiness:
      return "readiness";
    case ProbeKind::kLiveness:
      return "liveness";
  }
  return "unknown";
}

std::string_view PodRestartPolicyName(PodRestartPolicy policy) {
  switch (policy) {
    case PodRestartPolicy::kAlways:
      return "Always";
    case PodRestartPolicy::kOnFailure:
      return "OnFailure";
    case PodRestartPolicy::kNever:
      return "Never";
  }
  return "unknown";
}

ManifestCheck CheckManifest(std::string_view text, const std::filesystem::path& manifest_path) {
  ManifestCheck out;
  if (text.size() > kMaxManifestBytes) {
    out.errors.push_back(Error::Invalid("manifest: larger than the " +
                                        FormatByteLimit(kMaxManifestBytes) + " limit"));
    return out;
  }
  Result<std::vector<std::shared_ptr<const YamlNode>>> stream = ParseYamlStream(text, YamlLimits{});
  if (!stream) {
    out.errors.push_back(std::move(stream).error());
    return out;
  }
  std::vector<std::shared_ptr<const YamlNode>>& docs = *stream;
  // A trailing "---" yields an empty document; only real documents count.
  std::erase_if(docs, [](const auto& d) { return IsAbsent(*d); });
  if (docs.empty()) {
    out.errors.push_back(Error::Invalid("manifest: empty document"));
    return out;
  }
  if (docs.size() > 1) {
    out.errors.push_back(Error::Invalid("manifest: expected one document (one Pod), found " +
                                        std::to_string(docs.size())));
    return out;
  }
  Reader reader(manifest_path.parent_path());
  Pod pod = reader.ReadPod(*docs.front());
  pod.manifest_path = manifest_path;
  out.errors = reader.TakeErrors();
  for (Error& e : ValidatePod(pod)) out.errors.push_back(std::move(e));
  if (out.errors.empty()) {
    out.pod = std::move(pod);
  } else {
    out.partial = std::move(pod);
  }
  return out;
}

namespace {

std::string_view FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

// At most kMaxManifestBytes + 1 bytes of a regular file (one more than the limit, so that
// CheckManifest sees it is too large). A FIFO or a device is refused without reading (kubelet's
// file source also takes regular files only): a FIFO could block forever, /dev/zero never ends.
// The open does not block on a FIFO (O_NONBLOCK).
Result<std::string> ReadManifestText(const std::filesystem::path& path,
                                     const std::string& shown_path) {
  auto opened = sys::Open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!opened) return std::move(opened).error().Wrap("read manifest " + Quoted(shown_path));
  struct stat st {};
  if (::fstat(opened->get(), &st) < 0) {
    return Error::Errno(errno, "read manifest " + Quoted(shown_path));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error::Invalid("manifest: not a regular file (" + std::string(FileTypeName(st.st_mode)) +
                          ")");
  }
  auto text = sys::ReadAll(opened->get(), kMaxManifestBytes + 1);
  if (!text) return std::move(text).error().Wrap("read manifest " + Quoted(shown_path));
  return text;
}

}  // namespace

ManifestCheck CheckManifestFile(const std::filesystem::path& manifest_path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(manifest_path, ec);
  if (ec) abs = manifest_path;
  Result<std::string> text = ReadManifestText(abs, manifest_path.string());
  if (!text) {
    ManifestCheck out;
    out.errors.push_back(std::move(text).error());
    return out;
  }
  ManifestCheck out = CheckManifest(*text, abs);
  for (auto* pod : {&out.pod, &out.partial}) {
    if (*pod) (*pod)->manifest_path = manifest_path;
  }
  return out;
}

namespace {

// All errors in one: one problem per line, each prefixed with `prefix` when given.
Error JoinErrors(const std::vector<Error>& errors, const std::string& prefix) {
  if (errors.size() == 1 && errors.front().code() != make_error_code(ErrorCode::kInvalidSpec)) {
    return errors.front();  // an I/O error keeps its errno
  }
  std::string joined;
  for (const Error& e : errors) {
    if (!joined.empty()) joined += '\n';
    if (!prefix.empty()) joined += prefix + ": ";
    joined += e.ToString();
  }
  return Error::Invalid(std::move(joined));
}

}  // namespace

Result<Pod> ParseManifest(std::string_view text, const std::filesystem::path& manifest_path) {
  ManifestCheck check = CheckManifest(text, manifest_path);
  if (!check.errors.empty()) return JoinErrors(check.errors, "");
  return std::move(*check.pod);
}

Result<Pod> LoadManifest(const std::filesystem::path& manifest_path) {
  ManifestCheck check = CheckManifestFile(manifest_path);
  if (!check.errors.empty()) return JoinErrors(check.errors, manifest_path.string());
  return std::move(*check.pod);
}

}  // namespace podshim::shim
