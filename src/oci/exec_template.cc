#include "oci/exec_template.h"

#include <utility>

#include "common/quoted.h"

namespace podshim::oci {
namespace {

Result<ExecTemplate> PrepareUnprefixed(const Spec& spec, const std::string& container_id) {
  if (!spec.process) return Error::Invalid("process: required to exec in a container");
  const Process& proc = *spec.process;
  ExecTemplate t;
  t.cwd = PODSHIM_TRY(AbsoluteContainerPath(proc.cwd, "process.cwd"));
  t.envp = CStringArray(proc.env);
  for (const Namespace& ns : spec.linux_config.namespaces) t.namespaces.push_back(ns.type);
  // The container's plan and an exec's share one way of reading the attributes.
  LaunchPlan attrs;
  attrs.container_id = container_id;
  attrs.kind = PlanKind::kExec;
  PODSHIM_TRY(PlanProcessAttributes(spec, attrs));
  t.rlimits = std::move(attrs.rlimits);
  t.uid = attrs.uid;
  t.gid = attrs.gid;
  t.additional_gids = std::move(attrs.additional_gids);
  t.umask = attrs.umask;
  t.capabilities = attrs.capabilities;
  t.no_new_privileges = attrs.no_new_privileges;
  t.seccomp = std::move(attrs.seccomp);
  return t;
}

}  // namespace

Result<ExecTemplate> PrepareExec(const Spec& spec, const std::string& container_id) {
  auto t = PrepareUnprefixed(spec, container_id);
  if (!t) return std::move(t).error().Wrap("exec in container " + Quoted(container_id));
  return t;
}

}  // namespace podshim::oci
