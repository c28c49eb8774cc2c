#include "oci/spec_parse.h"

#include <sys/resource.h>

#include <array>
#include <set>
#include <utility>

#include "common/quoted.h"
#include "common/sys.h"
#include "oci/json_node.h"
#include "oci/spec_parse_linux.h"

namespace podshim::oci {
namespace {

constexpr std::string_view kDocument = "config.json";

struct RlimitName {
  std::string_view name;
  int resource;
};
constexpr std::array<RlimitName, 16> kRlimits = {{
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
}};

Status ExpectAbsolute(const JsonNode& node, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return node.Invalid("must be an absolute path, got " + Quoted(path));
  }
  return Ok();
}

Result<std::string> ParseOciVersion(const JsonNode& doc) {
  JsonNode node = PODSHIM_TRY(doc.Required("ociVersion"));
  std::string version = PODSHIM_TRY(node.String());
  // The runtime-spec versions its config with SemVer; podshim implements the 1.x series.
  if (!version.starts_with("1.")) {
    return node.Invalid("unsupported version " + Quoted(version) + " (podshim supports 1.x)");
  }
  return version;
}

Result<Root> ParseRoot(const JsonNode& doc) {
  JsonNode node = PODSHIM_TRY(doc.Required("root"));
  Root root;
  JsonNode path = PODSHIM_TRY(node.Required("path"));
  root.path = PODSHIM_TRY(path.String());
  if (root.path.empty()) return path.Invalid("must not be empty");
  root.readonly = PODSHIM_TRY(OptionalBool(node, "readonly"));
  return root;
}

Result<Mount> ParseMount(const JsonNode& node) {
  Mount m;
  JsonNode destination = PODSHIM_TRY(node.Required("destination"));
  m.destination = PODSHIM_TRY(destination.String());
  if (m.destination.empty()) return destination.Invalid("must not be empty");
  m.type = PODSHIM_TRY(OptionalString(node, "type"));
  m.source = PODSHIM_TRY(OptionalString(node, "source"));
  m.options = PODSHIM_TRY(OptionalStringArray(node, "options"));
  for (std::string_view idmap : {"uidMappings", "gidMappings"}) {
    if (PODSHIM_TRY(node.Member(idmap))) {
      return Error::Domain(ErrorCode::kUnsupported, std::string(kDocument) + ": " + node.path() +
                                                        "." + std::string(idmap) +
                                                        ": id-mapped mounts are not supported");
    }
  }
  return m;
}

Result<std::vector<Mount>> ParseMounts(const JsonNode& doc) {
  std::vector<Mount> mounts;
  auto node = PODSHIM_TRY(doc.Member("mounts"));
  if (!node) return mounts;
  for (const JsonNode& e : PODSHIM_TRY(node->Elements()))
    mounts.push_back(PODSHIM_TRY(ParseMount(e)));
  return mounts;
}

Result<User> ParseUser(const JsonNode& process) {
  User user;
  auto node = PODSHIM_TRY(process.Member("user"));
  if (!node) return user;  // the spec says REQUIRED; like runc, absent means uid 0, gid 0
  user.uid = PODSHIM_TRY(SettableId(PODSHIM_TRY(node->Required("uid"))));
  user.gid = PODSHIM_TRY(SettableId(PODSHIM_TRY(node->Required("gid"))));
  if (auto umask = PODSHIM_TRY(node->Member("umask"))) {
    uint32_t value = PODSHIM_TRY(umask->Uint32());
    if (value > 0777) return umask->Invalid("must be at most 0777 (511)");
    user.umask = value;
  }
  if (auto gids = PODSHIM_TRY(node->Member("additionalGids"))) {
    for (const JsonNode& gid : PODSHIM_TRY(gids->Elements()))
      user.additional_gids.push_back(PODSHIM_TRY(SettableId(gid)));
  }
  return user;
}

Result<LinuxCapabilities> ParseCapabilities(const JsonNode& node) {
  PODSHIM_TRY(node.ExpectObject());
  LinuxCapabilities caps;
  caps.bounding = PODSHIM_TRY(OptionalStringArray(node, "bounding"));
  caps.effective = PODSHIM_TRY(OptionalStringArray(node, "effective"));
  caps.inheritable = PODSHIM_TRY(OptionalStringArray(node, "inheritable"));
  caps.permitted = PODSHIM_TRY(OptionalStringArray(node, "permitted"));
  caps.ambient = PODSHIM_TRY(OptionalStringArray(node, "ambient"));
  return caps;
}

Result<Rlimit> ParseRlimit(const JsonNode& node) {
  Rlimit r;
  JsonNode type = PODSHIM_TRY(node.Required("type"));
  r.type = PODSHIM_TRY(type.String());
  bool known = false;
  for (const RlimitName& entry : kRlimits) {
    if (entry.name == r.type) {
      r.resource = entry.resource;
      known = true;
    }
  }
  if (!known) return type.Invalid("unknown rlimit type " + Quoted(r.type));
  r.hard = PODSHIM_TRY(PODSHIM_TRY(node.Required("hard")).Uint64());
  r.soft = PODSHIM_TRY(PODSHIM_TRY(node.Required("soft")).Uint64());
  if (r.soft > r.hard) {
    return node.InvalidMember("soft", "soft limit " + std::to_string(r.soft) +
                                          " exceeds hard limit " + std::to_string(r.hard));
  }
  return r;
}

Result<std::vector<Rlimit>> ParseRlimits(const JsonNode& process) {
  std::vector<Rlimit> rlimits;
  auto node = PODSHIM_TRY(process.Member("rlimits"));
  if (!node) return rlimits;
  std::set<std::string> seen;
  for (const JsonNode& e : PODSHIM_TRY(node->Elements())) {
    Rlimit r = PODSHIM_TRY(ParseRlimit(e));
    if (!seen.insert(r.type).second) {
      return e.InvalidMember("type", "duplicate rlimit " + Quoted(r.type));
    }
    rlimits.push_back(std::move(r));
  }
  return rlimits;
}

Result<std::vector<std::string>> ParseEnv(const JsonNode& process) {
  std::vector<std::string> env;
  auto node = PODSHIM_TRY(process.Member("env"));
  if (!node) return env;
  for (const JsonNode& e : PODSHIM_TRY(node->Elements())) {
    std::string entry = PODSHIM_TRY(e.String());
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return e.Invalid("expected KEY=value, got " + Quoted(entry));
    }
    env.push_back(std::move(entry));
  }
  return env;
}

Result<Process> ParseProcess(const JsonNode& node) {
  PODSHIM_TRY(node.ExpectObject());
  Process p;
  p.terminal = PODSHIM_TRY(OptionalBool(node, "terminal"));
  if (auto size = PODSHIM_TRY(node.Member("consoleSize"))) {
    ConsoleSize cs;
    cs.height = PODSHIM_TRY(PODSHIM_TRY(size->Required("height")).Uint32());
    cs.width = PODSHIM_TRY(PODSHIM_TRY(size->Required("width")).Uint32());
    p.console_size = cs;
  }
  p.user = PODSHIM_TRY(ParseUser(node));
  JsonNode args = PODSHIM_TRY(node.Required("args"));
  p.args = PODSHIM_TRY(args.StringArray());
  if (p.args.empty()) return args.Invalid("must have at least one entry");
  p.env = PODSHIM_TRY(ParseEnv(node));
  JsonNode cwd = PODSHIM_TRY(node.Required("cwd"));
  p.cwd = PODSHIM_TRY(cwd.String());
  PODSHIM_TRY(ExpectAbsolute(cwd, p.cwd));
  if (auto caps = PODSHIM_TRY(node.Member("capabilities"))) {
    p.capabilities = PODSHIM_TRY(ParseCapabilities(*caps));
  }
  p.rlimits = PODSHIM_TRY(ParseRlimits(node));
  p.no_new_privileges = PODSHIM_TRY(OptionalBool(node, "noNewPrivileges"));
  if (auto oom = PODSHIM_TRY(node.Member("oomScoreAdj"))) {
    int value = PODSHIM_TRY(oom->Int());
    // The kernel's range for /proc/<pid>/oom_score_adj.
    if (value < -1000 || value > 1000) return oom->Invalid("must be between -1000 and 1000");
    p.oom_score_adj = value;
  }
  p.apparmor_profile = PODSHIM_TRY(OptionalString(node, "apparmorProfile"));
  p.selinux_label = PODSHIM_TRY(OptionalString(node, "selinuxLabel"));
  return p;
}

Result<std::vector<Hook>> ParseHookList(const JsonNode& hooks, std::string_view name) {
  std::vector<Hook> out;
  auto node = PODSHIM_TRY(hooks.Member(name));
  if (!node) return out;
  for (const JsonNode& e : PODSHIM_TRY(node->Elements())) {
    Hook h;
    JsonNode path = PODSHIM_TRY(e.Required("path"));
    h.path = PODSHIM_TRY(path.String());
    PODSHIM_TRY(ExpectAbsolute(path, h.path));
    h.args = PODSHIM_TRY(OptionalStringArray(e, "args"));
    h.env = PODSHIM_TRY(OptionalStringArray(e, "env"));
    if (auto timeout = PODSHIM_TRY(e.Member("timeout"))) {
      int value = PODSHIM_TRY(timeout->Int());
      if (value <= 0) return timeout->Invalid("must be greater than zero");
      h.timeout = value;
    }
    out.push_back(std::move(h));
  }
  return out;
}

Result<Hooks> ParseHooks(const JsonNode& doc) {
  Hooks hooks;
  auto node = PODSHIM_TRY(doc.Member("hooks"));
  if (!node) return hooks;
  hooks.prestart = PODSHIM_TRY(ParseHookList(*node, "prestart"));
  hooks.create_runtime = PODSHIM_TRY(ParseHookList(*node, "createRuntime"));
  hooks.create_container = PODSHIM_TRY(ParseHookList(*node, "createContainer"));
  hooks.start_container = PODSHIM_TRY(ParseHookList(*node, "startContainer"));
  hooks.poststart = PODSHIM_TRY(ParseHookList(*node, "poststart"));
  hooks.poststop = PODSHIM_TRY(ParseHookList(*node, "poststop"));
  return hooks;
}

Result<std::optional<std::string>> OptionalNullableString(const JsonNode& doc,
                                                          std::string_view name) {
  auto node = PODSHIM_TRY(doc.Member(name));
  if (!node) return std::optional<std::string>();
  return std::optional<std::string>(PODSHIM_TRY(node->String()));
}

Result<Spec> ParseDocument(const JsonNode& doc) {
  if (!doc.value().is_object()) return doc.Invalid("expected a JSON object at the top level");
  Spec spec;
  spec.oci_version = PODSHIM_TRY(ParseOciVersion(doc));
  spec.root = PODSHIM_TRY(ParseRoot(doc));
  spec.mounts = PODSHIM_TRY(ParseMounts(doc));
  if (auto process = PODSHIM_TRY(doc.Member("process"))) {
    spec.process = PODSHIM_TRY(ParseProcess(*process));
  }
  spec.hostname = PODSHIM_TRY(OptionalNullableString(doc, "hostname"));
  spec.domainname = PODSHIM_TRY(OptionalNullableString(doc, "domainname"));
  if (auto linux_node = PODSHIM_TRY(doc.Member("linux"))) {
    spec.linux_config = PODSHIM_TRY(ParseLinux(*linux_node));
  }
  spec.hooks = PODSHIM_TRY(ParseHooks(doc));
  if (auto annotations = PODSHIM_TRY(doc.Member("annotations"))) {
    spec.annotations = PODSHIM_TRY(annotations->StringMap());
  }
  return spec;
}

}  // namespace

Result<Spec> ParseSpec(std::string_view json_text) {
  nlohmann::json doc = PODSHIM_TRY(ParseJsonDocument(json_text, kDocument));
  // JsonNode checks every type before reading a value, so nothing below should throw; this is
  // the one place nlohmann exceptions are caught should that ever change.
  try {
    return ParseDocument(JsonNode(doc, std::string(kDocument), ""));
  } catch (const nlohmann::json::exception& e) {
    return Error::Invalid(std::string(kDocument) + ": " + e.what());
  }
}

Result<Process> ParseProcessJson(std::string_view json_text, std::string_view document) {
  nlohmann::json doc = PODSHIM_TRY(ParseJsonDocument(json_text, document));
  try {
    return ParseProcess(JsonNode(doc, std::string(document), "process"));
  } catch (const nlohmann::json::exception& e) {
    return Error::Invalid(std::string(document) + ": " + e.what());
  }
}

Result<Spec> LoadSpec(const std::filesystem::path& bundle_dir) {
  std::error_code ec;
  std::filesystem::path bundle = std::filesystem::absolute(bundle_dir, ec);
  if (ec) return Error(ec, "resolve bundle " + bundle_dir.string());
  std::filesystem::path config = bundle / "config.json";
  std::string text = PODSHIM_TRY(sys::ReadFile(config));
  Spec spec = PODSHIM_TRY_WRAP(ParseSpec(text), bundle.string());
  std::filesystem::path root(spec.root.path);
  if (root.is_relative()) root = bundle / root;
  spec.root.path = root.lexically_normal().string();
  // "rootfs/" normalises to ".../rootfs/"; keep paths without a trailing slash.
  if (spec.root.path.size() > 1 && spec.root.path.back() == '/') spec.root.path.pop_back();
  return spec;
}

}  // namespace podshim::oci
