// The pod manifest model: the subset of the Kubernetes v1 Pod that podshim runs (DESIGN.md "Pod
// manifest"), with Kubernetes defaults applied (SetDefaults_Pod / SetDefaults_Probe), and its
// strict YAML-or-JSON parser. Every unknown field, wrong type or invalid value is reported with
// its full path ("spec.containers[1].resources.limits.cpuu: unknown field").
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/container_role.h"
#include "common/result.h"
#include "shim/manifest/restart_policy.h"

namespace podshim::shim {

// The longest duration a seconds field keeps: 100 years (of 365.25 days). Kubernetes stores
// these fields as int64 seconds, but the shim's clocks count int64 nanoseconds (about 292 years),
// so a larger value is clamped to this one when it is read (docs/decisions.md).
inline constexpr std::chrono::seconds kMaxManifestSeconds{3'155'760'000};

// The largest manifest read: 3 MiB, the API server's request body limit (docs/decisions.md).
// Scalars, nesting, nodes and aliases are bounded too (YamlLimits in shim/yaml_document.h).
inline constexpr size_t kMaxManifestBytes = 3 * 1024 * 1024;

// One entry of a ResourceList, kept as written: quantities are validated by the cgroups
// module's quantity parser, which quotes `path` in its errors.
struct QuantityField {
  std::string name;   // "cpu", "memory", "hugepages-2Mi", ...
  std::string value;  // the raw quantity text ("100m", "64Mi", "1e3", "0.5")
  std::string path;   // "spec.containers[1].resources.limits.cpu"
};
// Kubernetes ResourceList, in manifest order; names are unique within one list.
using ResourceList = std::vector<QuantityField>;
// The entry named `name`, or nullptr.
const QuantityField* FindQuantity(const ResourceList& list, std::string_view name);

struct ResourceRequirements {
  ResourceList requests;
  ResourceList limits;
  // True when neither list has an entry (the field was absent or empty).
  bool empty() const { return requests.empty() && limits.empty(); }
};

struct EnvVar {
  std::string name;
  std::string value;
};

struct ContainerPort {  // informational; probe ports may name one
  std::string name;     // empty when unnamed
  int container_port = 0;
  std::string protocol = "TCP";  // TCP | UDP | SCTP
};

struct VolumeMount {
  std::string name;        // a volume of spec.volumes
  std::string mount_path;  // absolute path inside the container
  bool read_only = false;
};

struct EmptyDirVolume {
  std::string medium;                       // "" (disk, in the state dir) or "Memory" (tmpfs)
  std::optional<QuantityField> size_limit;  // raw quantity, unvalidated
};

struct HostPathVolume {
  std::string path;  // absolute host path
  std::string type;  // "" | DirectoryOrCreate | Directory | FileOrCreate | File | Socket |
                     // CharDevice | BlockDevice
};

struct Volume {
  std::string name;
  std::variant<EmptyDirVolume, HostPathVolume> source;
};

// Handlers shared by probes and lifecycle hooks.
struct ExecAction {
  std::vector<std::string> command;  // non-empty; run directly (no shell) inside the container
};

struct HttpHeader {
  std::string name;
  std::string value;
};

enum class HttpScheme { kHttp, kHttps };

struct HttpGetAction {
  int port = 0;           // resolved number, 1-65535
  std::string port_name;  // the container port name as written, empty when numeric
  std::string path = "/";
  std::string host;  // empty: the pod's own address (127.0.0.1 in the pod network namespace)
  HttpScheme scheme = HttpScheme::kHttp;
  std::vector<HttpHeader> http_headers;
};

struct TcpSocketAction {
  int port = 0;  // resolved number, 1-65535
  std::string port_name;
  std::string host;
};

struct GrpcAction {
  int port = 0;         // 1-65535 (numbers only, as Kubernetes)
  std::string service;  // empty: the server's overall health
};

struct SleepAction {
  std::chrono::seconds duration{0};  // lifecycle.*.sleep.seconds, >= 0
};

using ProbeHandler = std::variant<ExecAction, HttpGetAction, TcpSocketAction, GrpcAction>;
using LifecycleHandler = std::variant<ExecAction, HttpGetAction, SleepAction>;

enum class ProbeKind { kStartup, kReadiness, kLiveness };
std::string_view ProbeKindName(ProbeKind kind);  // "startup", "readiness", "liveness"

// A probe with SetDefaults_Probe applied (SEMANTICS.md 5.1).
struct Probe {
  ProbeHandler handler;
  std::chrono::seconds initial_delay{0};  // initialDelaySeconds
  std::chrono::seconds period{10};        // periodSeconds, >= 1
  std::chrono::seconds timeout{1};        // timeoutSeconds, >= 1
  int success_threshold = 1;              // 1 for liveness and startup
  int failure_threshold = 3;
  // terminationGracePeriodSeconds (liveness/startup only): the grace used when the container is
  // killed because of this probe, instead of the pod's.
  std::optional<std::chrono::seconds> termination_grace_period;
};

struct Lifecycle {
  std::optional<LifecycleHandler> post_start;
  std::optional<LifecycleHandler> pre_stop;
};

using ContainerRole = ::podshim::ContainerRole;

enum class ContainerRestartPolicy { kAlways };  // the only value allowed (init containers only)

struct Container {
  std::string name;  // DNS-1123 label, unique across initContainers and containers
  // The OCI bundle directory (config.json + rootfs): as written if absolute, else joined to the
  // manifest's directory and normalised.
  std::filesystem::path bundle;
  bool is_init = false;  // listed under spec.initContainers
  std::optional<ContainerRestartPolicy> restart_policy;
  std::optional<std::vector<std::string>> command;  // replaces process.args when set
  std::optional<std::vector<std::string>> args;     // appended after command / entrypoint
  std::vector<EnvVar> env;                          // added to (overriding) the bundle's env
  std::optional<std::string> working_dir;           // absolute; replaces process.cwd
  std::vector<ContainerPort> ports;
  std::vector<VolumeMount> volume_mounts;
  ResourceRequirements resources;
  std::optional<Probe> startup_probe;
  std::optional<Probe> readiness_probe;
  std::optional<Probe> liveness_probe;
  Lifecycle lifecycle;

  // kSidecar: an init container with restartPolicy Always; kInit: any other init container.
  ContainerRole role() const {
    if (!is_init) return ContainerRole::kApp;
    return restart_policy ? ContainerRole::kSidecar : ContainerRole::kInit;
  }
};

struct PodMetadata {
  std::string name;                                         // DNS-1123 label; the default pod id
  std::string namespace_name;                               // metadata.namespace, informational
  std::vector<std::pair<std::string, std::string>> labels;  // informational
  std::vector<std::pair<std::string, std::string>> annotations;  // informational
};

struct PodSpec {
  PodRestartPolicy restart_policy = PodRestartPolicy::kAlways;
  std::chrono::seconds termination_grace_period{30};    // terminationGracePeriodSeconds, >= 0
  std::optional<std::chrono::seconds> active_deadline;  // activeDeadlineSeconds, >= 1
  ResourceList overhead;
  bool host_network = false;
  std::vector<Volume> volumes;
  std::vector<Container> init_containers;  // spec order
  std::vector<Container> containers;       // spec order, non-empty
  ResourceRequirements resources;          // pod-level spec.resources (KEP-2837)
};

struct Pod {
  PodMetadata metadata;
  PodSpec spec;
  std::filesystem::path manifest_path;  // as given to the parser
};

// The container named `name` (init or app), or nullptr.
const Container* FindContainer(const PodSpec& spec, std::string_view name);

// Every problem found in one pass. `pod` is set only when `errors` is empty. Each error is
// kInvalidSpec with context "<path>: <what is wrong>" (an errno Error when the file is unreadable).
struct ManifestCheck {
  std::optional<Pod> pod;
  std::vector<Error> errors;
  // When there are errors but the document could be read: the model as far as it was valid
  // (broken entries left empty), so `podshim validate` can go on to check bundles and quantities.
  std::optional<Pod> partial;
};

// Parses YAML or JSON text. `manifest_path` names the file: bundles are resolved against its
// directory. No file system access. Text over kMaxManifestBytes is refused unread.
ManifestCheck CheckManifest(std::string_view text, const std::filesystem::path& manifest_path);
// Reads the file (a regular file only, at most kMaxManifestBytes + 1 bytes), then CheckManifest;
// a read failure is the single error.
ManifestCheck CheckManifestFile(const std::filesystem::path& manifest_path);

// As CheckManifest, but one Error holding every problem, one per line.
Result<Pod> ParseManifest(std::string_view text, const std::filesystem::path& manifest_path);
// Reads and parses the file; relative bundles resolve against the absolute manifest directory.
// Error lines are prefixed with the manifest path ("web.yaml: spec.x: unknown field").
Result<Pod> LoadManifest(const std::filesystem::path& manifest_path);

}  // namespace podshim::shim
