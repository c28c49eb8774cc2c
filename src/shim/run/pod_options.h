// What `podshim run` and `podshim start` were asked to do, as parsed by the CLI
// (shim/cli/pod_flags.h), and where the pod's id, state dir and log dir default to. Plain data
// the pod runner reads; no parsing here.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/cgroup_values.h"
#include "shim/manifest/manifest.h"
#include "shim/run/shim_upgrade.h"

namespace podshim::shim {

struct PodOptions {
  std::string id;
  std::string state_dir;
  std::string cgroup_parent = "podshim";
  std::string log_dir;
  std::string log_level = "info";
  std::chrono::nanoseconds backoff_initial = std::chrono::seconds(10);
  std::chrono::nanoseconds backoff_max = std::chrono::seconds(300);
  bool cgroup_required = false;
  // A shim of the state dir died while its pod ran: take the pod back (its containers go on)
  // rather than stop it and start afresh. Without a dead shim's pod, the pod starts as usual.
  bool recover = false;
  cgroups::CgroupValueOptions values;
  std::string pid_file;  // start only; empty: <state-dir>/podshim.pid
  std::string manifest;
  // How the shim process was started (main's argv and cwd): what `ctl upgrade` re-executes.
  std::vector<std::string> argv;
  std::string cwd;
  // Set in an image exec'd by `ctl upgrade`: what the image before it handed over. The pod is
  // taken back as with --recover, with these fds instead of a new lock, socket and namespaces.
  std::optional<HandoverRecord> handover;
};

// Copies CurrentShimInvocation() (argv, cwd, handover) into `o`.
void SetInvocation(PodOptions& o);

// The pod's id, state dir and container log dir once the manifest is known.
struct PodPaths {
  std::string id;                   // --id, else metadata.name
  std::filesystem::path state_dir;  // --state-dir, else /run/podshim/<id>
  std::filesystem::path log_dir;    // --log-dir, else <state-dir>/logs
};
PodPaths ResolvePodPaths(const PodOptions& o, const Pod& pod);

}  // namespace podshim::shim
