#include "oci/spec_parse_linux.h"

#include <array>
#include <set>
#include <string_view>
#include <utility>

#include "common/quoted.h"

namespace podshim::oci {
namespace {

template <class T>
struct Named {
  std::string_view name;
  T value;
};

constexpr std::array<Named<NamespaceType>, 8> kNamespaces = {{
    {"pid", NamespaceType::kPid},
    {"network", NamespaceType::kNetwork},
    {"mount", NamespaceType::kMount},
    {"ipc", NamespaceType::kIpc},
    {"uts", NamespaceType::kUts},
    {"user", NamespaceType::kUser},
    {"cgroup", NamespaceType::kCgroup},
    {"time", NamespaceType::kTime},
}};

constexpr std::array<Named<SeccompAction>, 9> kActions = {{
    {"SCMP_ACT_KILL", SeccompAction::kKill},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::kKillProcess},
    {"SCMP_ACT_KILL_THREAD", SeccompAction::kKillThread},
    {"SCMP_ACT_TRAP", SeccompAction::kTrap},
    {"SCMP_ACT_ERRNO", SeccompAction::kErrno},
    {"SCMP_ACT_TRACE", SeccompAction::kTrace},
    {"SCMP_ACT_ALLOW", SeccompAction::kAllow},
    {"SCMP_ACT_LOG", SeccompAction::kLog},
    {"SCMP_ACT_NOTIFY", SeccompAction::kNotify},
}};

constexpr std::array<Named<SeccompOp>, 7> kOps = {{
    {"SCMP_CMP_NE", SeccompOp::kNotEqual},
    {"SCMP_CMP_LT", SeccompOp::kLessThan},
    {"SCMP_CMP_LE", SeccompOp::kLessEqual},
    {"SCMP_CMP_EQ", SeccompOp::kEqualTo},
    {"SCMP_CMP_GE", SeccompOp::kGreaterEqual},
    {"SCMP_CMP_GT", SeccompOp::kGreaterThan},
    {"SCMP_CMP_MASKED_EQ", SeccompOp::kMaskedEqual},
}};

// The architectures config-linux.md lists; whether libseccomp knows one is CompileSeccomp's job.
constexpr std::array<std::string_view, 23> kArchitectures = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

constexpr std::array<std::string_view, 4> kSeccompFlags = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

// runc accepts the recursive forms as well as the four the spec names.
constexpr std::array<std::string_view, 8> kPropagations = {
    "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
};

// Looks `node`'s string up in `table`; an unknown value is "<path>: unknown <what> \"x\"".
template <class T, size_t N>
Result<T> Lookup(const JsonNode& node, const std::array<Named<T>, N>& table,
                 std::string_view what) {
  std::string s = PODSHIM_TRY(node.String());
  for (const auto& entry : table) {
    if (entry.name == s) return entry.value;
  }
  return node.Invalid("unknown " + std::string(what) + " " + Quoted(s));
}

template <size_t N>
Result<std::vector<std::string>> StringsFrom(const JsonNode& object, std::string_view name,
                                             const std::array<std::string_view, N>& allowed,
                                             std::string_view what) {
  std::vector<std::string> out;
  auto node = PODSHIM_TRY(object.Member(name));
  if (!node) return out;
  for (const JsonNode& e : PODSHIM_TRY(node->Elements())) {
    std::string s = PODSHIM_TRY(e.String());
    bool known = false;
    for (std::string_view a : allowed) known = known || a == s;
    if (!known) return e.Invalid("unknown " + std::string(what) + " " + Quoted(s));
    out.push_back(std::move(s));
  }
  return out;
}

Status ExpectAbsolute(const JsonNode& node, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return node.Invalid("must be an absolute path, got " + Quoted(path));
  }
  return Ok();
}

Result<std::vector<Namespace>> ParseNamespaces(const JsonNode& linux_node) {
  std::vector<Namespace> out;
  auto node = PODSHIM_TRY(linux_node.Member("namespaces"));
  if (!node) return out;
  std::set<NamespaceType> seen;
  for (const JsonNode& e : PODSHIM_TRY(node->Elements())) {
    Namespace ns;
    JsonNode type = PODSHIM_TRY(e.Required("type"));
    ns.type = PODSHIM_TRY(Lookup(type, kNamespaces, "namespace"));
    // config-linux.md: a namespace type given more than once is an error.
    if (!seen.insert(ns.type).second) {
      return type.Invalid(std::string("duplicate namespace \"") + NamespaceTypeName(ns.type) +
                          "\"");
    }
    if (auto path = PODSHIM_TRY(e.Member("path"))) {
      std::string p = PODSHIM_TRY(path->String());
      PODSHIM_TRY(ExpectAbsolute(*path, p));
      ns.path = std::move(p);
    }
    out.push_back(std::move(ns));
  }
  return out;
}

// The kernel refuses a mapping line whose ids are (u32)-1 or whose range wraps past it.
Status CheckMappingRange(const JsonNode& node, uint32_t first, uint32_t size) {
  if (uint64_t{first} + size > uint64_t{UINT32_MAX}) {
    return node.Invalid("range " + std::to_string(first) + "+" + std::to_string(size) +
                        " goes past 4294967294, the highest id that can be mapped");
  }
  return Ok();
}

Result<std::vector<IdMapping>> ParseIdMappings(const JsonNode& linux_node, std::string_view name) {
  std::vector<IdMapping> out;
  auto node = PODSHIM_TRY(linux_node.Member(name));
  if (!node) return out;
  for (const JsonNode& e : PODSHIM_TRY(node->Elements())) {
    IdMapping m;
    m.container_id = PODSHIM_TRY(SettableId(PODSHIM_TRY(e.Required("containerID"))));
    m.host_id = PODSHIM_TRY(SettableId(PODSHIM_TRY(e.Required("hostID"))));
    JsonNode size = PODSHIM_TRY(e.Required("size"));
    m.size = PODSHIM_TRY(size.Uint32());
    if (m.size == 0) return size.Invalid("must be greater than zero");
    PODSHIM_TRY(CheckMappingRange(size, m.container_id, m.size));
    PODSHIM_TRY(CheckMappingRange(size, m.host_id, m.size));
    out.push_back(m);
  }
  return out;
}

Result<std::optional<uint32_t>> OptionalUint32(const JsonNode& object, std::string_view name) {
  auto node = PODSHIM_TRY(object.Member(name));
  if (!node) return std::optional<uint32_t>();
  return std::optional<uint32_t>(PODSHIM_TRY(node->Uint32()));
}

Result<std::vector<LinuxDevice>> ParseDevices(const JsonNode& linux_node) {
  std::vector<LinuxDevice> out;
  auto node = PODSHIM_TRY(linux_node.Member("devices"));
  if (!node) return out;
  for (const JsonNode& e : PODSHIM_TRY(node->Elements())) {
    LinuxDevice d;
    JsonNode type = PODSHIM_TRY(e.Required("type"));
    d.type = PODSHIM_TRY(type.String());
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p") {
      return type.Invalid("unknown device type " + Quoted(d.type) + " (expected c, b, u or p)");
    }
    JsonNode path = PODSHIM_TRY(e.Required("path"));
    d.path = PODSHIM_TRY(path.String());
    PODSHIM_TRY(ExpectAbsolute(path, d.path));
    if (d.type != "p") {  // a FIFO has no device number
      d.major = PODSHIM_TRY(PODSHIM_TRY(e.Required("major")).Int64());
      d.minor = PODSHIM_TRY(PODSHIM_TRY(e.Required("minor")).Int64());
    }
    d.file_mode = PODSHIM_TRY(OptionalUint32(e, "fileMode"));
    if (auto uid = PODSHIM_TRY(e.Member("uid"))) d.uid = PODSHIM_TRY(SettableId(*uid));
    if (auto gid = PODSHIM_TRY(e.Member("gid"))) d.gid = PODSHIM_TRY(SettableId(*gid));
    out.push_back(std::move(d));
  }
  return out;
}

Result<SeccompArg> ParseSeccompArg(const JsonNode& node) {
  SeccompArg arg;
  JsonNode index = PODSHIM_TRY(node.Required("index"));
  arg.index = PODSHIM_TRY(index.Uint32());
  if (arg.index > 5) return index.Invalid("must be between 0 and 5 (a syscall has 6 arguments)");
  arg.value = PODSHIM_TRY(PODSHIM_TRY(node.Required("value")).Uint64());
  if (auto two = PODSHIM_TRY(node.Member("valueTwo"))) arg.value_two = PODSHIM_TRY(two->Uint64());
  arg.op = PODSHIM_TRY(Lookup(PODSHIM_TRY(node.Required("op")), kOps, "seccomp operator"));
  return arg;
}

Result<SeccompSyscall> ParseSeccompSyscall(const JsonNode& node) {
  SeccompSyscall sc;
  JsonNode names = PODSHIM_TRY(node.Required("names"));
  sc.names = PODSHIM_TRY(names.StringArray());
  if (sc.names.empty()) return names.Invalid("must have at least one entry");
  sc.action = PODSHIM_TRY(Lookup(PODSHIM_TRY(node.Required("action")), kActions, "seccomp action"));
  sc.errno_ret = PODSHIM_TRY(OptionalUint32(node, "errnoRet"));
  if (auto args = PODSHIM_TRY(node.Member("args"))) {
    for (const JsonNode& e : PODSHIM_TRY(args->Elements())) {
      sc.args.push_back(PODSHIM_TRY(ParseSeccompArg(e)));
    }
  }
  return sc;
}

Result<LinuxSeccomp> ParseSeccomp(const JsonNode& node) {
  LinuxSeccomp s;
  s.default_action =
      PODSHIM_TRY(Lookup(PODSHIM_TRY(node.Required("defaultAction")), kActions, "seccomp action"));
  s.default_errno_ret = PODSHIM_TRY(OptionalUint32(node, "defaultErrnoRet"));
  s.architectures =
      PODSHIM_TRY(StringsFrom(node, "architectures", kArchitectures, "seccomp architecture"));
  s.flags = PODSHIM_TRY(StringsFrom(node, "flags", kSeccompFlags, "seccomp flag"));
  s.listener_path = PODSHIM_TRY(OptionalString(node, "listenerPath"));
  s.listener_metadata = PODSHIM_TRY(OptionalString(node, "listenerMetadata"));
  if (auto syscalls = PODSHIM_TRY(node.Member("syscalls"))) {
    for (const JsonNode& e : PODSHIM_TRY(syscalls->Elements())) {
      s.syscalls.push_back(PODSHIM_TRY(ParseSeccompSyscall(e)));
    }
  }
  return s;
}

template <class T>
Status ReadOptional(const JsonNode& object, std::string_view name, std::optional<T>& out,
                    Result<T> (JsonNode::*read)() const) {
  auto node = PODSHIM_TRY(object.Member(name));
  if (node) out = PODSHIM_TRY(((*node).*read)());
  return Ok();
}

Status ParseResources(const JsonNode& node, Linux& linux_config) {
  PODSHIM_TRY(node.ExpectObject());
  linux_config.resources_json = node.value().dump();
  LinuxResourcesBasics& r = linux_config.resources;
  if (auto memory = PODSHIM_TRY(node.Member("memory"))) {
    PODSHIM_TRY(ReadOptional(*memory, "limit", r.memory_limit, &JsonNode::Int64));
  }
  if (auto cpu = PODSHIM_TRY(node.Member("cpu"))) {
    PODSHIM_TRY(ReadOptional(*cpu, "shares", r.cpu_shares, &JsonNode::Uint64));
    PODSHIM_TRY(ReadOptional(*cpu, "quota", r.cpu_quota, &JsonNode::Int64));
    PODSHIM_TRY(ReadOptional(*cpu, "period", r.cpu_period, &JsonNode::Uint64));
  }
  if (auto pids = PODSHIM_TRY(node.Member("pids"))) {
    PODSHIM_TRY(ReadOptional(*pids, "limit", r.pids_limit, &JsonNode::Int64));
  }
  return Ok();
}

Result<std::vector<std::string>> AbsolutePaths(const JsonNode& linux_node, std::string_view name) {
  std::vector<std::string> out;
  auto node = PODSHIM_TRY(linux_node.Member(name));
  if (!node) return out;
  for (const JsonNode& e : PODSHIM_TRY(node->Elements())) {
    std::string p = PODSHIM_TRY(e.String());
    PODSHIM_TRY(ExpectAbsolute(e, p));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

Result<uint32_t> SettableId(const JsonNode& node) {
  uint32_t id = PODSHIM_TRY(node.Uint32());
  if (id == UINT32_MAX) {
    return node.Invalid("4294967295 cannot be set (it means \"no change\" to the kernel)");
  }
  return id;
}

Result<Linux> ParseLinux(const JsonNode& node) {
  PODSHIM_TRY(node.ExpectObject());
  Linux l;
  l.namespaces = PODSHIM_TRY(ParseNamespaces(node));
  l.uid_mappings = PODSHIM_TRY(ParseIdMappings(node, "uidMappings"));
  l.gid_mappings = PODSHIM_TRY(ParseIdMappings(node, "gidMappings"));
  l.masked_paths = PODSHIM_TRY(AbsolutePaths(node, "maskedPaths"));
  l.readonly_paths = PODSHIM_TRY(AbsolutePaths(node, "readonlyPaths"));
  if (auto prop = PODSHIM_TRY(node.Member("rootfsPropagation"))) {
    l.rootfs_propagation = PODSHIM_TRY(prop->String());
    bool known = l.rootfs_propagation.empty();
    for (std::string_view p : kPropagations) known = known || p == l.rootfs_propagation;
    if (!known) {
      return prop->Invalid("unknown propagation " + Quoted(l.rootfs_propagation) +
                           " (expected shared, slave, private or unbindable)");
    }
  }
  if (auto sysctl = PODSHIM_TRY(node.Member("sysctl"))) l.sysctl = PODSHIM_TRY(sysctl->StringMap());
  if (auto seccomp = PODSHIM_TRY(node.Member("seccomp"))) {
    l.seccomp = PODSHIM_TRY(ParseSeccomp(*seccomp));
  }
  l.devices = PODSHIM_TRY(ParseDevices(node));
  if (auto resources = PODSHIM_TRY(node.Member("resources"))) {
    PODSHIM_TRY(ParseResources(*resources, l));
  }
  l.cgroups_path = PODSHIM_TRY(OptionalString(node, "cgroupsPath"));
  l.mount_label = PODSHIM_TRY(OptionalString(node, "mountLabel"));
  return l;
}

}  // namespace podshim::oci
