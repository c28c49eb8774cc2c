// What `podshim run` and `podshim start` were asked to do, as parsed by the CLI
// (shim/cli/pod_flags.h), and where the pod's id, state dir and log dir default to. Plain data
// the pod runner reads; no parsing here.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "cgroups/cgroup_values.h"
#include "shim/manifest/manifest.h"

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
};

// The pod's id, state dir and container log dir once the manifest is known.
struct PodPaths {
  std::string id;                   // --id, else metadata.name
  std::filesystem::path state_dir;  // --state-dir, else /run/podshim/<id>
  std::filesystem::path log_dir;    // --log-dir, else <state-dir>/logs
};
PodPaths ResolvePodPaths(const PodOptions& o, const Pod& pod);

}  // namespace podshim::shim
