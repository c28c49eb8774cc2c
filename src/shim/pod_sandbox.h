// PodSandbox: what the containers of one pod share. The pod's network (with `lo` up), IPC and
// UTS (hostname = pod name) namespaces are created once by a short-lived helper and kept alive
// by fds the shim holds (no pause process, no bind mount); `hostNetwork: true` keeps the host's
// network and UTS namespaces. Volumes: emptyDir (a directory in the state dir, tmpfs for medium
// Memory) and hostPath. ContainerSpec() turns a bundle's config.json into the container's spec.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "oci/spec.h"
#include "shim/manifest.h"

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

class PodSandbox {
 public:
  // Creates the namespaces and prepares the volumes under <state_dir>/volumes. On failure
  // nothing is left behind.
  static Result<PodSandbox> Create(const Pod& pod, const std::filesystem::path& state_dir);

  PodSandbox(PodSandbox&& o) noexcept;
  PodSandbox& operator=(PodSandbox&&) = delete;
  ~PodSandbox();  // Teardown()

  const SandboxPaths& paths() const { return paths_; }
  // The fd of the pod's own network namespace (probes and hooks connect from inside it), or -1
  // with hostNetwork. Owned by the sandbox; closed by Teardown().
  int netns_fd() const { return netns_fd_; }

  // LoadSpec(c.bundle) + ApplyPodToSpec.
  Result<oci::Spec> ContainerSpec(const Container& c) const;

  // Unmounts the tmpfs volumes and removes the emptyDir directories; closes the namespace fds
  // (the namespaces go away with the last container). Idempotent.
  Status Teardown();

 private:
  PodSandbox() = default;
  std::vector<UniqueFd> ns_fds_;
  int netns_fd_ = -1;
  SandboxPaths paths_;
  std::filesystem::path volumes_dir_;
  std::vector<std::filesystem::path> tmpfs_mounts_;
  bool torn_down_ = false;
};

}  // namespace podshim::shim
