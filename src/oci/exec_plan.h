// BuildExecPlan: the LaunchPlan of a new process inside an already-running container (exec
// probes, exec hooks, `podshim ctl exec`), run by the same LinuxLauncher as the container's first
// process. It creates no namespace and mounts nothing: it joins the namespaces of the container's
// init through /proc/<pid>/ns/* and keeps the spec's process attributes (user, caps, seccomp, ...)
// from an ExecTemplate (exec_template.h) prepared once per container.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "oci/exec_template.h"
#include "oci/launch_plan.h"
#include "oci/spec.h"

namespace podshim::oci {

struct ExecOptions {
  std::string container_id;       // for errors: exec in container "web": ...
  pid_t container_pid = -1;       // the container's init (main) process, running
  std::vector<std::string> argv;  // non-empty; replaces process.args
  int stdin_fd = -1;              // -1: inherit the caller's 0 / 1 / 2
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::vector<int> extra_fds;  // become 3, 4, ... in the process (not owned by the plan)
  int cgroup_dir_fd = -1;      // CLONE_INTO_CGROUP target (the caller creates it); -1: caller's
};

// The plan: clone_flags 0; every namespace in spec.linux.namespaces joined through
// /proc/<container_pid>/ns/<name>, user first and mnt last (joining the mount namespace sets
// root and cwd to the container's root), except pid, which goes to pid_ns_path (Launch creates
// the process in it). setup_rootfs false; no hostname, sysctls, masked/read-only paths, id maps
// or oom_score_adj. Kept from the spec: env, process.cwd, user, rlimits, capabilities,
// noNewPrivileges, seccomp. process.terminal is not looked at (argv replaces process.args).
// Errors, each after `exec in container "web": `: kInvalidSpec naming the field (`argv: needs
// at least one entry`, `container_pid: -1 is not a process id`, spec fields as in
// BuildLaunchPlan). A spec with no mount namespace (the container shares the runtime's and was
// chrooted) gives plan.exec_root = /proc/<container_pid>/root, chrooted into after the joins.
// Cheap: it copies the template's capabilities and seccomp program, it does not recompute them.
Result<LaunchPlan> BuildExecPlan(const ExecTemplate& exec, const ExecOptions& opts);

// The same for a one-shot exec (`podshim oci exec`): checks `opts`, then PrepareExec(spec) and
// the template's plan. The template's errors come after the options' (argv, container_pid).
Result<LaunchPlan> BuildExecPlan(const Spec& spec, const ExecOptions& opts);

// "net", "mnt", ...: the name of a namespace type under /proc/<pid>/ns/.
const char* ProcNamespaceName(NamespaceType type);

}  // namespace podshim::oci
