#include "oci/exec_plan.h"

#include <sched.h>

#include <string>
#include <utility>

#include "common/quoted.h"

namespace podshim::oci {
namespace {

Status PlanJoins(const std::vector<NamespaceType>& namespaces, pid_t container_pid,
                 LaunchPlan& plan) {
  const std::string ns_dir = "/proc/" + std::to_string(container_pid) + "/ns/";
  bool has_mount = false;
  std::vector<NamespaceJoin> others;
  for (const NamespaceType type : namespaces) {
    const std::string path = ns_dir + ProcNamespaceName(type);
    NamespaceJoin join{type, NamespaceCloneFlag(type), path};
    switch (type) {
      case NamespaceType::kPid:
        plan.pid_ns_path = path;
        break;
      case NamespaceType::kUser:
        // First: the other namespaces may be owned by it.
        plan.joins.insert(plan.joins.begin(), std::move(join));
        break;
      case NamespaceType::kMount:
        has_mount = true;
        break;
      default:
        others.push_back(std::move(join));
        break;
    }
  }
  for (NamespaceJoin& j : others) plan.joins.push_back(std::move(j));
  if (!has_mount) {
    // The container shares our mount namespace and was chrooted: enter the same root.
    plan.exec_root = "/proc/" + std::to_string(container_pid) + "/root";
    return Ok();
  }
  // Last: it also sets our root and cwd to the container's root, so every path after it (the
  // chdir, the exec lookup) resolves inside the container.
  plan.joins.push_back({NamespaceType::kMount, CLONE_NEWNS, ns_dir + "mnt"});
  return Ok();
}

Status CheckOptions(const ExecOptions& opts) {
  if (opts.container_pid <= 0) {
    return Error::Invalid("container_pid: " + std::to_string(opts.container_pid) +
                          " is not a process id");
  }
  if (opts.argv.empty()) return Error::Invalid("argv: needs at least one entry");
  if (opts.argv[0].empty()) return Error::Invalid("argv[0]: must not be empty");
  return Ok();
}

// Copies what the template prepared; only the joins, argv and fds are the exec's own.
Result<LaunchPlan> BuildUnprefixed(const ExecTemplate& t, const ExecOptions& opts) {
  PODSHIM_TRY(CheckOptions(opts));
  LaunchPlan plan;
  plan.container_id = opts.container_id;
  plan.kind = PlanKind::kExec;
  plan.cwd = t.cwd;
  plan.argv = CStringArray(opts.argv);
  plan.envp = t.envp;
  plan.exec_candidates = ExecCandidates(opts.argv[0], t.envp.items());

  PODSHIM_TRY(PlanJoins(t.namespaces, opts.container_pid, plan));
  plan.setup_rootfs = false;
  plan.rlimits = t.rlimits;
  plan.uid = t.uid;
  plan.gid = t.gid;
  plan.additional_gids = t.additional_gids;
  plan.umask = t.umask;
  plan.capabilities = t.capabilities;
  plan.no_new_privileges = t.no_new_privileges;
  plan.seccomp = t.seccomp;

  plan.stdio[0] = opts.stdin_fd;
  plan.stdio[1] = opts.stdout_fd;
  plan.stdio[2] = opts.stderr_fd;
  plan.extra_fds = opts.extra_fds;
  plan.cgroup_dir_fd = opts.cgroup_dir_fd;
  return plan;
}

}  // namespace

const char* ProcNamespaceName(NamespaceType type) {
  switch (type) {
    case NamespaceType::kPid:
      return "pid";
    case NamespaceType::kNetwork:
      return "net";
    case NamespaceType::kMount:
      return "mnt";
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

Result<LaunchPlan> BuildExecPlan(const ExecTemplate& exec, const ExecOptions& opts) {
  auto plan = BuildUnprefixed(exec, opts);
  if (!plan) return std::move(plan).error().Wrap("exec in container " + Quoted(opts.container_id));
  return plan;
}

Result<LaunchPlan> BuildExecPlan(const Spec& spec, const ExecOptions& opts) {
  // The request's own errors first, as before the template existed.
  if (Status ok = CheckOptions(opts); !ok) {
    return std::move(ok).error().Wrap("exec in container " + Quoted(opts.container_id));
  }
  const ExecTemplate exec = PODSHIM_TRY(PrepareExec(spec, opts.container_id));
  return BuildExecPlan(exec, opts);
}

}  // namespace podshim::oci
