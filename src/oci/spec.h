// The OCI runtime-spec bundle configuration (config.json, runtime-spec 1.0-1.2, Linux only) as
// plain structs. Field names follow the JSON properties in snake_case; ParseSpec (spec_parse.h)
// fills and validates them. OPTIONAL properties are std::optional where "absent" differs from the
// zero value; lists and maps that are absent are simply empty.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace podshim::oci {

// root: the container's root filesystem. `path` is absolute after LoadSpec (made relative to
// the bundle), as written in config.json after ParseSpec.
struct Root {
  std::string path;
  bool readonly = false;
};

// mounts[]: `options` are the raw fstab-style strings ("nosuid", "mode=755", "rbind", "rprivate").
struct Mount {
  std::string destination;
  std::string type;    // empty when absent (bind mounts)
  std::string source;  // empty when absent
  std::vector<std::string> options;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

// process.capabilities: capability names as written ("CAP_KILL"); see capabilities.h to resolve.
struct LinuxCapabilities {
  std::vector<std::string> bounding;
  std::vector<std::string> effective;
  std::vector<std::string> inheritable;
  std::vector<std::string> permitted;
  std::vector<std::string> ambient;
};

// process.rlimits[]: `type` as written ("RLIMIT_NOFILE"), `resource` its <sys/resource.h> value.
struct Rlimit {
  std::string type;
  int resource = 0;
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct Process {
  bool terminal = false;  // parsed as is; rejecting it is the caller's choice
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;  // at least one entry
  std::vector<std::string> env;   // "KEY=value"
  std::string cwd;                // absolute
  // Absent means "leave the capabilities alone"; present with empty sets means "drop all".
  std::optional<LinuxCapabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;  // parsed, not applied
  std::string selinux_label;     // parsed, not applied
};

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };

// linux.namespaces[]: without `path` a new namespace is created; with it, the process joins it.
struct Namespace {
  NamespaceType type = NamespaceType::kPid;
  std::optional<std::string> path;
};

// linux.uidMappings[] / gidMappings[].
struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

// linux.devices[]: device nodes to create in the container.
struct LinuxDevice {
  std::string type;  // "c", "b", "u" or "p"
  std::string path;
  int64_t major = 0;  // required for c, b, u; 0 for p
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

enum class SeccompAction {
  kKill,  // SCMP_ACT_KILL (= kill thread)
  kKillProcess,
  kKillThread,
  kTrap,
  kErrno,
  kTrace,
  kAllow,
  kLog,
  kNotify,  // parsed; CompileSeccomp reports it unsupported (no listenerPath support)
};

enum class SeccompOp {
  kNotEqual,
  kLessThan,
  kLessEqual,
  kEqualTo,
  kGreaterEqual,
  kGreaterThan,
  kMaskedEqual
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;  // the mask's compare value for kMaskedEqual
  SeccompOp op = SeccompOp::kEqualTo;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

// linux.seccomp. Architectures ("SCMP_ARCH_X86_64") and flags ("SECCOMP_FILTER_FLAG_LOG") are
// validated by the parser and kept as written.
struct LinuxSeccomp {
  SeccompAction default_action = SeccompAction::kAllow;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

// The few linux.resources values podshim reads directly; the full object stays as JSON text in
// Linux::resources_json for the cgroups code.
struct LinuxResourcesBasics {
  std::optional<int64_t> memory_limit;  // memory.limit, bytes (-1 = unlimited)
  std::optional<uint64_t> cpu_shares;   // cpu.shares
  std::optional<int64_t> cpu_quota;     // cpu.quota, microseconds
  std::optional<uint64_t> cpu_period;   // cpu.period, microseconds
  std::optional<int64_t> pids_limit;    // pids.limit
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string rootfs_propagation;  // "" or shared|slave|private|unbindable (r-variants allowed)
  std::map<std::string, std::string> sysctl;
  std::optional<LinuxSeccomp> seccomp;
  std::vector<LinuxDevice> devices;
  std::string resources_json;  // the raw linux.resources object; empty when absent
  LinuxResourcesBasics resources;
  std::string cgroups_path;  // empty when absent
  std::string mount_label;   // parsed, not applied
};

// hooks.*[]: `timeout` in seconds, > 0 when present.
struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated in the spec, still run (before createRuntime)
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

struct Spec {
  std::string oci_version;
  Root root;  // required (as runc requires it on Linux)
  std::vector<Mount> mounts;
  std::optional<Process> process;  // the spec allows it absent at create; `start` needs it
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;
  // The "linux" object. Not named `linux`: that is a predefined macro in GNU C++ modes.
  Linux linux_config;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
};

// "pid", "network", ... as in config.json.
inline const char* NamespaceTypeName(NamespaceType type) {
  switch (type) {
    case NamespaceType::kPid:
      return "pid";
    case NamespaceType::kNetwork:
      return "network";
    case NamespaceType::kMount:
      return "mount";
    case NamespaceType::kIpc:
      return "ipc";
    case NamespaceType::kUts:
      return "uts";
    case NamespaceType::kUser:
      return "user";
    case NamespaceType::kCgroup:
      return "cgroup";
    case NamespaceType::kTime:
      return "time";
  }
  return "unknown";
}

}  // namespace podshim::oci
