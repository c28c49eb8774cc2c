#include "oci/features.h"

#include <linux/capability.h>
#include <seccomp.h>
#include <sys/capability.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

namespace podshim::oci {
namespace {

using nlohmann::ordered_json;

// Every hook kind of the runtime-spec; poststop and the runtime-namespace ones run in podshim's
// own namespaces (docs/oci.md says which run where).
constexpr std::string_view kHooks[] = {"prestart",       "createRuntime", "createContainer",
                                       "startContainer", "poststart",     "poststop"};

// The generic (not filesystem-specific) mount options: the mount(2) flags, their negations, and
// the propagation and bind keywords (the options oci/mounts.cc understands).
constexpr std::string_view kMountOptions[] = {
    "async",      "atime",      "bind",       "defaults",      "dev",
    "diratime",   "dirsync",    "exec",       "lazytime",      "loud",
    "mand",       "noatime",    "nodev",      "nodiratime",    "noexec",
    "nolazytime", "nomand",     "norelatime", "nostrictatime", "nosuid",
    "private",    "rbind",      "relatime",   "remount",       "ro",
    "rprivate",   "rshared",    "rslave",     "runbindable",   "rw",
    "shared",     "silent",     "slave",      "strictatime",   "suid",
    "sync",       "unbindable",
};

constexpr std::string_view kNamespaces[] = {"cgroup", "ipc",  "mount", "network",
                                            "pid",    "user", "uts"};

// The actions oci::SeccompAction models; SCMP_ACT_NOTIFY is parsed but refused (no listener).
constexpr std::string_view kSeccompActions[] = {
    "SCMP_ACT_ALLOW",       "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",   "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"};

constexpr std::string_view kSeccompOperators[] = {
    "SCMP_CMP_EQ", "SCMP_CMP_GE",        "SCMP_CMP_GT", "SCMP_CMP_LE",
    "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"};

// libseccomp's architecture names (seccomp_arch_resolve_name spelling).
constexpr std::string_view kArchNames[] = {
    "x86",    "x86_64",   "x32",         "arm",         "aarch64", "mips",    "mips64", "mips64n32",
    "mipsel", "mipsel64", "mipsel64n32", "ppc",         "ppc64",   "ppc64le", "s390",   "s390x",
    "parisc", "parisc64", "riscv64",     "loongarch64", "m68k",    "sh",      "sheb"};

struct SeccompFlag {
  std::string_view name;
  unsigned min_api;  // seccomp_api_get() level that makes it usable
  bool compiled;     // libseccomp headers new enough to apply it
};

constexpr SeccompFlag kSeccompFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", 2, true},
    {"SECCOMP_FILTER_FLAG_LOG", 3, true},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4, true},
    // SCMP_FLTATR_CTL_WAITKILL arrived in libseccomp 2.6.
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 7,
     SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)},
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

template <size_t N>
std::vector<std::string> ToStrings(const std::string_view (&list)[N]) {
  return std::vector<std::string>(std::begin(list), std::end(list));
}

}  // namespace

std::vector<std::string> CompiledCapabilityNames() {
  std::vector<std::string> names;
  for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    char* name = ::cap_to_name(cap);
    if (!name) continue;
    std::string_view view(name);
    // libcap spells an unknown capability as its number.
    if (!view.empty() && !std::isdigit(static_cast<unsigned char>(view[0]))) {
      names.push_back(Upper(view));
    }
    ::cap_free(name);
  }
  return names;
}

std::vector<std::string> SeccompArchitectures() {
  std::vector<std::string> archs;
  for (std::string_view name : kArchNames) {
    std::string s(name);
    if (::seccomp_arch_resolve_name(s.c_str()) != 0) archs.push_back("SCMP_ARCH_" + Upper(name));
  }
  std::sort(archs.begin(), archs.end());
  return archs;
}

std::vector<std::string> SeccompKnownFlags() {
  std::vector<std::string> flags;
  for (const SeccompFlag& f : kSeccompFlags) flags.emplace_back(f.name);
  return flags;
}

std::vector<std::string> SeccompSupportedFlags() {
  unsigned api = ::seccomp_api_get();
  std::vector<std::string> flags;
  for (const SeccompFlag& f : kSeccompFlags) {
    if (f.compiled && api >= f.min_api) flags.emplace_back(f.name);
  }
  return flags;
}

std::string LibseccompVersion() {
  const scmp_version* v = ::seccomp_version();
  if (!v) return "unknown";
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

std::string FeaturesJson(int indent) {
  ordered_json j;
  j["ociVersionMin"] = kOciVersionMin;
  j["ociVersionMax"] = kOciVersionMax;
  j["hooks"] = ToStrings(kHooks);
  j["mountOptions"] = ToStrings(kMountOptions);
  ordered_json linux_json;
  linux_json["namespaces"] = ToStrings(kNamespaces);
  linux_json["capabilities"] = CompiledCapabilityNames();
  linux_json["cgroup"] = {
      {"v1", false}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", true}};
  ordered_json seccomp;
  seccomp["enabled"] = true;
  seccomp["actions"] = ToStrings(kSeccompActions);
  seccomp["operators"] = ToStrings(kSeccompOperators);
  seccomp["archs"] = SeccompArchitectures();
  seccomp["knownFlags"] = SeccompKnownFlags();
  seccomp["supportedFlags"] = SeccompSupportedFlags();
  linux_json["seccomp"] = std::move(seccomp);
  linux_json["apparmor"] = {{"enabled", false}};
  linux_json["selinux"] = {{"enabled", false}};
  j["linux"] = std::move(linux_json);
  j["annotations"] = {{"io.github.seccomp.libseccomp.version", LibseccompVersion()}};
  return j.dump(indent);
}

}  // namespace podshim::oci
