#include "oci/exec_plan.h"

#include <sched.h>

#include <string>
#include <utility>

#include "common/quoted.h"

namespace podshim::oci {
namespace {

Status PlanJoins(const Spec& spec, pid_t container_pid, LaunchPlan& plan) {
  const std::string ns_dir = "/proc/" + std::to_string(container_pid) + "/ns/";
  bool has_mount = false;
  std::vector<NamespaceJoin> others;
  for (const Namespace& ns : spec.linux_config.namespaces) {
    const std::string path = ns_dir + ProcNamespaceName(ns.type);
    NamespaceJoin join{ns.type, NamespaceCloneFlag(ns.type), path};
    switch (ns.type) {
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

Result<LaunchPlan> BuildUnprefixed(const Spec& spec, const ExecOptions& opts) {
  LaunchPlan plan;
  plan.container_id = opts.container_id;
  plan.kind = PlanKind::kExec;
  if (opts.container_pid <= 0) {
    return Error::Invalid("container_pid: " + std::to_string(opts.container_pid) +
                          " is not a process id");
  }
  if (opts.argv.empty()) return Error::Invalid("argv: needs at least one entry");
  if (opts.argv[0].empty()) return Error::Invalid("argv[0]: must not be empty");
  if (!spec.process) return Error::Invalid("process: required to exec in a container");
  const Process& proc = *spec.process;
  plan.cwd = PODSHIM_TRY(AbsoluteContainerPath(proc.cwd, "process.cwd"));
  plan.argv = CStringArray(opts.argv);
  plan.envp = CStringArray(proc.env);
  plan.exec_candidates = ExecCandidates(opts.argv[0], proc.env);

  PODSHIM_TRY(PlanJoins(spec, opts.container_pid, plan));
  plan.setup_rootfs = false;
  PODSHIM_TRY(PlanProcessAttributes(spec, plan));

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

Result<LaunchPlan> BuildExecPlan(const Spec& spec, const ExecOptions& opts) {
  auto plan = BuildUnprefixed(spec, opts);
  if (!plan) return std::move(plan).error().Wrap("exec in container " + Quoted(opts.container_id));
  return plan;
}

}  // namespace podshim::oci
