// Taking over the state dir of a shim that died while its pod ran (SIGKILL, a crash, the OOM
// killer): its containers run on unsupervised until a new `podshim run` or `start` on the state
// dir stops them here (cgroup.kill on the dead pod's cgroup, removed once empty), unmounts and
// removes its volumes, and records in the dead run's events.jsonl that the containers it ran
// ended with an unknown exit (never a made-up exit code). Also the cgroup and mount clean-up that
// `podshim start`'s caller does after a shim that died before reporting.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "shim/record/shim_lock.h"

namespace podshim::shim {

// Kills everything in `cgroup` and below (cgroup.kill, repeated while it stays populated), waits
// until cgroup.events says "populated 0", then removes the child cgroups, deepest first, and
// `cgroup` itself. Nothing to do when it does not exist. Error kTimeout, naming the cgroup, when
// it is still populated after `timeout`.
Status KillAndRemoveCgroupTree(const std::filesystem::path& cgroup,
                               std::chrono::milliseconds timeout);

// Unmounts (lazily) whatever is mounted at or below `dir`, deepest first.
void UnmountBelow(const std::filesystem::path& dir);

// The containers status.json `status_json` shows running (state.running), as ContainerExited
// events with exitCode null, signal null, reason ContainerStatusUnknown and a message naming the
// dead shim, followed by PodFinished with phase Unknown; nothing when the pod had finished (or
// the text is not a status). Pure.
std::vector<std::string> UnknownEndEvents(const std::string& status_json, pid_t dead_pid,
                                          const std::string& time);

// Takes over after the dead shim `claim` names (the caller holds the state dir's lock): stops its
// pod if the cgroup at claim.cgroup is still that pod's (same inode; another pod's cgroup of the
// same path is left alone), unmounts and removes <state_dir>/volumes, and appends
// UnknownEndEvents to <state_dir>/events.jsonl (fsynced). An error leaves the claim to retry.
Status TakeOverDeadShim(const std::filesystem::path& state_dir, const ShimClaim& claim);

}  // namespace podshim::shim
