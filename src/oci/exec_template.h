// ExecTemplate: the part of an exec's LaunchPlan (exec_plan.h) that depends only on the
// container's spec (cwd, env, user, rlimits, capabilities, noNewPrivileges, the compiled seccomp
// filter, which namespaces to join), prepared once per container by PrepareExec so that exec
// probes, exec hooks and `ctl exec` do not rerun libcap and libseccomp for every process.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/launch_plan.h"
#include "oci/seccomp.h"
#include "oci/spec.h"

namespace podshim::oci {

struct ExecTemplate {
  std::string cwd;                        // process.cwd, lexically normalised
  CStringArray envp;                      // process.env (also the PATH of the exec lookup)
  std::vector<NamespaceType> namespaces;  // linux.namespaces, in spec order
  std::vector<RlimitStep> rlimits;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  mode_t umask = 022;
  std::optional<CapabilityMasks> capabilities;  // ambient already cut to permitted&inheritable
  bool no_new_privileges = false;
  std::optional<SeccompProgram> seccomp;
};

// Resolves the capabilities and compiles the seccomp filter of spec.process / linux.seccomp,
// as PlanProcessAttributes does for an exec plan (no ambient warning). Errors, each after
// `exec in container "<container_id>": `: `process: required to exec in a container`,
// `process.cwd: ...`, the capability and seccomp errors of launch_plan.h.
Result<ExecTemplate> PrepareExec(const Spec& spec, const std::string& container_id);

}  // namespace podshim::oci
