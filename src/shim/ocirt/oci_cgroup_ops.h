// The runc commands that work on a container's cgroup: pause and resume (cgroup.freeze), update
// (linux.resources merged with --resources or runc's flags, written again), ps (cgroup.procs of
// the cgroup and its descendants) and kill --all (every process of the cgroup). Errors read like
// runc's: `container "web" is not running`, `container "web" is not paused`.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/state.h"

namespace podshim::shim {

// Freezes a running or created container (runc allows both); error for a paused or stopped one.
Status OciPause(const oci::StateDir& dir, const std::string& id);
// Thaws a paused container; error unless it is paused.
Status OciResume(const oci::StateDir& dir, const std::string& id);

// runc's `update` flags ("memory", "cpu-share", ...: values by long name, as the command line
// gives them) as a linux.resources JSON object. Sizes take runc's units ("512m", "1g"); error
// kInvalidSpec naming the flag.
Result<std::string> UpdateFlagsToResources(const std::map<std::string, std::string>& flags);

// Merges `resources_json` (an update: members given replace the recorded ones, as runc keeps the
// rest) into the container's recorded linux.resources, writes the result to its cgroup and
// records it. `field` names the source in errors ("--resources"). Error for a stopped container.
Status OciUpdate(const oci::StateDir& dir, const std::string& id, const std::string& resources_json,
                 const std::string& field);

// The pids in the container's cgroup and its descendants, sorted.
Result<std::vector<pid_t>> OciPids(const oci::StateDir& dir, const std::string& id);
// `ps ARGS` (default -ef) filtered to those pids, header kept, as runc's table.
Result<std::string> OciPsTable(const std::vector<pid_t>& pids,
                               const std::vector<std::string>& args);

// Sends `sig` to every process of the container's cgroup (frozen meanwhile so none forks away,
// unless the container is paused). A stopped container whose cgroup is empty or gone: success,
// as runc's kill --all.
Status OciKillAll(const oci::StateDir& dir, const std::string& id, int sig);

}  // namespace podshim::shim
