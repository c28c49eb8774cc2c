#include "oci/launch_plan.h"

#include <sched.h>
#include <sys/resource.h>

#include <string>
#include <string_view>
#include <utility>

#include "common/quoted.h"
#include "oci/capabilities.h"
#include "oci/seccomp.h"

namespace podshim::oci {

CStringArray& CStringArray::operator=(const CStringArray& o) {
  if (this != &o) {
    items_ = o.items_;
    Rebuild();
  }
  return *this;
}

CStringArray& CStringArray::operator=(CStringArray&& o) noexcept {
  if (this != &o) {
    items_ = std::move(o.items_);
    Rebuild();
    o.Rebuild();
  }
  return *this;
}

void CStringArray::Rebuild() {
  ptrs_.clear();
  ptrs_.reserve(items_.size() + 1);
  for (std::string& s : items_) ptrs_.push_back(s.data());
  ptrs_.push_back(nullptr);
}

namespace {

// runc's PATH when the spec's env has none.
constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string MapText(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const IdMapping& m : maps) {
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  }
  return out;
}

Status PlanNamespaces(const Spec& spec, LaunchPlan& plan, bool& has_uts) {
  bool mount_new = false;
  bool mount_joined = false;
  std::vector<NamespaceJoin> others;
  for (size_t i = 0; i < spec.linux_config.namespaces.size(); ++i) {
    const Namespace& ns = spec.linux_config.namespaces[i];
    const int flag = NamespaceCloneFlag(ns.type);
    if (ns.type == NamespaceType::kUts) has_uts = true;
    if (!ns.path) {
      plan.clone_flags |= static_cast<uint64_t>(flag);
      if (ns.type == NamespaceType::kMount) mount_new = true;
      continue;
    }
    if (ns.type == NamespaceType::kPid) {
      // setns() of a pid namespace only affects later children: Launch enters it around clone3.
      plan.pid_ns_path = *ns.path;
      continue;
    }
    if (ns.type == NamespaceType::kTime) {
      return Error::Domain(ErrorCode::kUnsupported, "linux.namespaces[" + std::to_string(i) +
                                                        "].path: joining an existing time " +
                                                        "namespace is not supported");
    }
    if (ns.type == NamespaceType::kMount) mount_joined = true;
    NamespaceJoin join{ns.type, flag, *ns.path};
    // Join the user namespace first: the others may be owned by it.
    if (ns.type == NamespaceType::kUser) {
      plan.joins.push_back(std::move(join));
    } else {
      others.push_back(std::move(join));
    }
  }
  for (NamespaceJoin& j : others) plan.joins.push_back(std::move(j));
  // A joined mount namespace gets the rootfs the spec describes, as a new one does (runc).
  // Without one the container inherits podshim's: the rootfs is set up there and chrooted into.
  plan.setup_rootfs = true;
  plan.chroot_rootfs = !mount_new && !mount_joined;
  if (plan.clone_flags & CLONE_NEWUSER) {
    if (spec.linux_config.uid_mappings.empty() || spec.linux_config.gid_mappings.empty()) {
      return Error::Invalid(
          "linux.uidMappings, linux.gidMappings: required with a new user namespace");
    }
    plan.uid_map = MapText(spec.linux_config.uid_mappings);
    plan.gid_map = MapText(spec.linux_config.gid_mappings);
  }
  return Ok();
}

Status PlanFilesystem(const Spec& spec, const std::filesystem::path& bundle, LaunchPlan& plan) {
  std::filesystem::path rootfs = spec.root.path;
  if (rootfs.empty()) return Error::Invalid("root.path: required");
  if (rootfs.is_relative()) rootfs = bundle / rootfs;
  plan.rootfs = rootfs.lexically_normal().string();
  if (plan.rootfs.size() > 1 && plan.rootfs.back() == '/') plan.rootfs.pop_back();
  plan.readonly_rootfs = spec.root.readonly;
  plan.rootfs_propagation = PODSHIM_TRY(
      ParseRootfsPropagation(spec.linux_config.rootfs_propagation, "linux.rootfsPropagation"));
  if (!plan.setup_rootfs) return Ok();
  if (plan.chroot_rootfs) {
    // As runc: masking or remounting would change podshim's own mount namespace.
    const char* what = !spec.linux_config.masked_paths.empty()     ? "linux.maskedPaths"
                       : !spec.linux_config.readonly_paths.empty() ? "linux.readonlyPaths"
                       : plan.readonly_rootfs                      ? "root.readonly"
                                                                   : nullptr;
    if (what) {
      return Error::Invalid(std::string(what) +
                            ": needs a mount namespace in linux.namespaces (without one the "
                            "container shares podshim's)");
    }
  }
  RootfsInputs in{bundle, (plan.clone_flags & CLONE_NEWUSER) != 0};
  plan.rootfs_steps = PODSHIM_TRY(PlanRootfsSteps(spec, in));
  for (size_t i = 0; i < spec.linux_config.masked_paths.size(); ++i) {
    plan.masked_paths.push_back(PODSHIM_TRY(AbsoluteContainerPath(
        spec.linux_config.masked_paths[i], "linux.maskedPaths[" + std::to_string(i) + "]")));
  }
  for (size_t i = 0; i < spec.linux_config.readonly_paths.size(); ++i) {
    plan.readonly_paths.push_back(PODSHIM_TRY(AbsoluteContainerPath(
        spec.linux_config.readonly_paths[i], "linux.readonlyPaths[" + std::to_string(i) + "]")));
  }
  return Ok();
}

// `container "web": process.capabilities.ambient: CAP_KILL, CAP_NET_BIND_SERVICE are not also
// permitted and inheritable (the kernel requires both), ignoring`.
std::string AmbientWarning(const LaunchPlan& plan, uint64_t skipped) {
  std::string names;
  int count = 0;
  for (int cap = 0; cap < 64; ++cap) {
    if (!(skipped & (uint64_t{1} << cap))) continue;
    auto name = CapabilityName(cap);
    if (count++ > 0) names += ", ";
    names += name ? *name : "capability " + std::to_string(cap);
  }
  return PlanErrorPrefix(plan) + ": process.capabilities.ambient: " + names +
         (count == 1 ? " is" : " are") +
         " not also permitted and inheritable (the kernel requires both), ignoring";
}

Status PlanSysctls(const Spec& spec, LaunchPlan& plan) {
  for (const auto& [key, value] : spec.linux_config.sysctl) {
    std::string rel = key;
    for (char& c : rel) {
      if (c == '.') c = '/';
    }
    const std::string field = "linux.sysctl[" + Quoted(key) + "]";
    if (rel.empty() || rel[0] == '/' || rel.find("..") != std::string::npos ||
        std::filesystem::path(rel).lexically_normal().string() != rel) {
      return Error::Invalid(field + ": not a sysctl name");
    }
    plan.sysctls.push_back({key, "/proc/sys/" + rel, value});
  }
  return Ok();
}

// process.terminal: the pty goes to the console socket the caller connected.
Status PlanTerminal(const Process& proc, int console_socket_fd, LaunchPlan& plan) {
  if (!proc.terminal) {
    if (console_socket_fd >= 0) {
      return Error::Invalid("process.terminal: false, but a console socket was given");
    }
    return Ok();
  }
  if (console_socket_fd < 0) {
    return Error::Domain(ErrorCode::kUnsupported,
                         "process.terminal: not supported without a console socket (podshim oci "
                         "create --console-socket, or podshim oci run in the foreground)");
  }
  plan.terminal = TerminalPlan{console_socket_fd, proc.console_size, plan.setup_rootfs};
  return Ok();
}

}  // namespace

int NamespaceCloneFlag(NamespaceType type) {
  switch (type) {
    case NamespaceType::kPid:
      return CLONE_NEWPID;
    case NamespaceType::kNetwork:
      return CLONE_NEWNET;
    case NamespaceType::kMount:
      return CLONE_NEWNS;
    case NamespaceType::kIpc:
      return CLONE_NEWIPC;
    case NamespaceType::kUts:
      return CLONE_NEWUTS;
    case NamespaceType::kUser:
      return CLONE_NEWUSER;
    case NamespaceType::kCgroup:
      return CLONE_NEWCGROUP;
    case NamespaceType::kTime:
      return CLONE_NEWTIME;
  }
  return 0;
}

Result<std::string> AbsoluteContainerPath(const std::string& path, const std::string& field) {
  if (path.empty() || path[0] != '/') {
    return Error::Invalid(field + ": " + Quoted(path) + " is not an absolute path");
  }
  return std::filesystem::path(path).lexically_normal().string();
}

Status PlanProcessAttributes(const Spec& spec, LaunchPlan& plan) {
  if (!spec.process) return Error::Invalid("process: required to start a container");
  const Process& proc = *spec.process;
  for (const Rlimit& r : proc.rlimits) {
    RlimitStep step;
    step.resource = r.resource;
    step.limit.rlim_cur = r.soft;
    step.limit.rlim_max = r.hard;
    step.name = r.type;
    plan.rlimits.push_back(std::move(step));
  }
  plan.uid = proc.user.uid;
  plan.gid = proc.user.gid;
  plan.additional_gids.assign(proc.user.additional_gids.begin(), proc.user.additional_gids.end());
  plan.umask = static_cast<mode_t>(proc.user.umask.value_or(022));
  plan.no_new_privileges = proc.no_new_privileges;
  if (proc.capabilities) {
    // Names the kernel does not know are left out (capabilities.h); the child applies the masks
    // with raw prctl/capset calls, so no libcap state crosses the clone.
    const int last_cap = PODSHIM_TRY(ReadCapLastCap());
    CapabilitySets sets = PODSHIM_TRY(ResolveCapabilities(*proc.capabilities, last_cap));
    // PR_CAP_AMBIENT_RAISE fails with EPERM unless the cap is also permitted and inheritable.
    // runc and crun skip such caps, and `runc spec` writes three of them with no inheritable
    // set: skip them too, with one warning from the container's plan.
    const uint64_t ambient = sets.ambient & sets.permitted & sets.inheritable;
    if (const uint64_t skipped = sets.ambient & ~ambient;
        skipped != 0 && plan.kind == PlanKind::kContainer) {
      plan.warnings.push_back(AmbientWarning(plan, skipped));
    }
    plan.capabilities = CapabilityMasks{sets.bounding,    sets.effective, sets.permitted,
                                        sets.inheritable, ambient,        last_cap};
  }
  if (spec.linux_config.seccomp) {
    plan.seccomp = PODSHIM_TRY(CompileSeccomp(*spec.linux_config.seccomp));
  }
  return Ok();
}

std::string PlanErrorPrefix(const LaunchPlan& plan) {
  const char* what = plan.kind == PlanKind::kExec ? "exec in container " : "container ";
  return what + Quoted(plan.container_id);
}

std::vector<std::string> ExecCandidates(const std::string& arg0,
                                        const std::vector<std::string>& env) {
  if (arg0.find('/') != std::string::npos) return {arg0};
  std::string_view path = kDefaultPath;
  for (const std::string& e : env) {
    if (e.starts_with("PATH=")) path = std::string_view(e).substr(5);  // the last one wins
  }
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find(':', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view dir = path.substr(pos, next - pos);
    pos = next + 1;
    // An empty entry means the current directory, as in execvp.
    std::string candidate = dir.empty() ? "." : std::string(dir);
    if (candidate.back() != '/') candidate += '/';
    candidate += arg0;
    bool seen = false;
    for (const std::string& c : out) seen = seen || c == candidate;
    if (!seen) out.push_back(std::move(candidate));
  }
  return out;
}

Result<LaunchPlan> BuildLaunchPlan(const Spec& spec, const std::filesystem::path& bundle_dir,
                                   LaunchOptions opts) {
  LaunchPlan plan;
  plan.container_id = std::move(opts.container_id);
  if (!spec.process) return Error::Invalid("process: required to start a container");
  const Process& proc = *spec.process;
  if (proc.args.empty()) return Error::Invalid("process.args: needs at least one entry");
  if (proc.args[0].empty()) return Error::Invalid("process.args[0]: must not be empty");
  plan.cwd = PODSHIM_TRY(AbsoluteContainerPath(proc.cwd, "process.cwd"));
  plan.argv = CStringArray(proc.args);
  plan.envp = CStringArray(proc.env);
  plan.exec_candidates = ExecCandidates(proc.args[0], proc.env);

  bool has_uts = false;
  PODSHIM_TRY(PlanNamespaces(spec, plan, has_uts));
  if ((spec.hostname || spec.domainname) && !has_uts) {
    return Error::Invalid(std::string(spec.hostname ? "hostname" : "domainname") +
                          ": needs a uts namespace in linux.namespaces");
  }
  plan.hostname = spec.hostname;
  plan.domainname = spec.domainname;

  std::filesystem::path bundle = std::filesystem::absolute(bundle_dir).lexically_normal();
  PODSHIM_TRY(PlanFilesystem(spec, bundle, plan));
  PODSHIM_TRY(PlanSysctls(spec, plan));

  PODSHIM_TRY(PlanProcessAttributes(spec, plan));
  plan.oom_score_adj = proc.oom_score_adj;

  plan.stdio[0] = opts.stdin_fd;
  plan.stdio[1] = opts.stdout_fd;
  plan.stdio[2] = opts.stderr_fd;
  plan.extra_fds = std::move(opts.extra_fds);
  plan.cgroup_dir_fd = opts.cgroup_dir_fd;
  plan.gate = opts.gate;
  plan.fifo_path = std::move(opts.fifo_path);
  if (plan.gate == StartGate::kFifo && plan.fifo_path.empty()) {
    return Error::Invalid("start gate: a fifo path is required");
  }
  PODSHIM_TRY(PlanTerminal(proc, opts.console_socket_fd, plan));
  return plan;
}

}  // namespace podshim::oci
