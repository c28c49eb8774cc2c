// PodSandbox: what the containers of one pod share. The pod's network (with `lo` up), IPC and
// UTS (hostname = pod name) namespaces are created once by a short-lived helper and kept alive
// by fds the shim holds (no pause process, no bind mount); `hostNetwork: true` keeps the host's
// network and UTS namespaces. Volumes: emptyDir (a directory in the state dir, tmpfs for medium
// Memory) and hostPath. ContainerSpec() turns a bundle's config.json into the container's spec.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "oci/spec.h"
#include "shim/manifest/container_spec.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim {

class PodSandbox {
 public:
  // Creates the namespaces and prepares the volumes under <state_dir>/volumes. On failure
  // nothing is left behind.
  static Result<PodSandbox> Create(const Pod& pod, const std::filesystem::path& state_dir);

  // Takes over the sandbox of a shim that died: the namespaces of `member` (a live process of
  // the pod), and the volumes as they are (a Memory emptyDir still mounted is kept). With no
  // live member (every container died) the namespaces are made afresh, as Create does.
  static Result<PodSandbox> Adopt(const Pod& pod, const std::filesystem::path& state_dir,
                                  pid_t member);

  // Takes the namespaces an image before this one of the same process held (an upgrade in
  // place): `fds` by name ("net", "ipc", "uts"), each checked to be a namespace of that kind;
  // the volumes as they are.
  static Result<PodSandbox> AdoptHandedOver(const Pod& pod, const std::filesystem::path& state_dir,
                                            const std::map<std::string, int>& fds);

  PodSandbox(PodSandbox&& o) noexcept;
  PodSandbox& operator=(PodSandbox&&) = delete;
  ~PodSandbox();  // Teardown()

  const SandboxPaths& paths() const { return paths_; }
  // The fd of the pod's own network namespace (probes and hooks connect from inside it), or -1
  // with hostNetwork. Owned by the sandbox; closed by Teardown().
  int netns_fd() const { return netns_fd_; }
  // The namespace fds held, by name ("net", "ipc", "uts"): what an upgrade hands over.
  const std::map<std::string, int>& namespace_fds() const { return named_fds_; }

  // LoadSpec(c.bundle) + ApplyPodToSpec.
  Result<oci::Spec> ContainerSpec(const Container& c) const;

  // Unmounts the tmpfs volumes and removes the emptyDir directories; closes the namespace fds
  // (the namespaces go away with the last container). Idempotent.
  Status Teardown();

 private:
  PodSandbox() = default;
  // The namespaces of `flags` (CLONE_NEW*), made by a short-lived helper and held by fds.
  Status CreateNamespaces(int flags, const std::string& hostname);
  // The CLONE_NEW* flags of the pod's own namespaces; with hostNetwork the host's network and
  // UTS namespaces are recorded as shared.
  int NamespaceFlags(const Pod& pod);
  // Holds the namespaces of `flags` that process `pid` is in.
  Status OpenNamespacesOf(pid_t pid, int flags);
  // Holds the namespaces of `flags`, each fd from `open` (given "net", "ipc" or "uts").
  Status HoldNamespaces(int flags, const std::function<Result<UniqueFd>(const char*)>& open);
  // An emptyDir under volumes_dir_ (tmpfs for medium Memory) or a checked hostPath.
  Status PrepareVolume(const Volume& v);
  std::vector<UniqueFd> ns_fds_;
  std::map<std::string, int> named_fds_;
  int netns_fd_ = -1;
  SandboxPaths paths_;
  std::filesystem::path volumes_dir_;
  std::vector<std::filesystem::path> tmpfs_mounts_;
  bool torn_down_ = false;
};

}  // namespace podshim::shim
