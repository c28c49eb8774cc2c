// A manifest container's OCI spec: the bundle's config.json with the pod applied (its shared
// namespaces, its volumes as bind mounts, the container's command, args, env and workingDir).
// Pure; the namespaces and volumes themselves are made by PodSandbox (shim/run/pod_sandbox.h),
// and `validate` applies the pod to stand-in paths (bundle_check.h).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim {

// The pod's namespaces and volumes as paths a spec can name. Plain data.
struct SandboxPaths {
  // Namespaces the containers join: type -> path ("/proc/self/fd/7"). Types absent here are
  // left as the bundle says (pid and mount are always the container's own).
  std::map<oci::NamespaceType, std::string> namespaces;
  // Namespaces the containers must share with the host (hostNetwork: network and uts).
  std::vector<oci::NamespaceType> host_namespaces;
  // Volume name -> host directory or file.
  std::map<std::string, std::filesystem::path> volumes;
};

// Makes `spec` the spec of container `c` of the pod (pure):
// - the pod's namespaces replace the bundle's entries of those types (joined by path), the host
//   namespaces are removed; pid and mount namespaces are added when the bundle lacks them;
//   the bundle's hostname is dropped (the pod's UTS namespace already has the pod name);
// - each volumeMount becomes a bind mount (rbind, plus ro when readOnly);
// - command replaces process.args; args follow the command (or the bundle's args[0]);
//   env entries replace the bundle's variables of the same name or are appended; workingDir
//   replaces process.cwd.
// Errors (kInvalidSpec) name the container's volumeMount that names no known volume.
Status ApplyPodToSpec(const Container& c, const SandboxPaths& paths, oci::Spec& spec);

}  // namespace podshim::shim
