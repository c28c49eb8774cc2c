// The shim binary's `delete` subcommand (containerd runs it after every task and after a shim
// crash): clean up one task from its bundle alone, whether the shim server still runs or not,
// touching only that task: its process and cgroup, its runtime state, its rootfs mount.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "shim/proto/task.pb.h"
#include "shim/task/task_exit.h"

namespace podshim::shim::task {

struct DeleteOutcome {
  pid_t pid = 0;          // the task's init, 0 when no state was left
  int exit_status = 137;  // from the durable exit record; 137 (SIGKILL) only without one
  WallTime exited_at{};   // when the record was written; now without one
  bool oom = false;       // the record marks an OOM kill in its cgroup (OOMKilled)
  // What could not be cleaned up ("unmount <bundle>/rootfs: Device or resource busy"), for the
  // binary's stderr (containerd logs it as cleanup warnings).
  std::vector<std::string> warnings;
};

// Kills the task if it still runs (and what is left in its cgroup; bounded wait), removes its
// cgroup and runtime state, unmounts <bundle>/rootfs (not mounted: fine) and reads its exit
// record. Errors only for an invalid id; everything else that fails is a warning.
Result<DeleteOutcome> CleanupTask(const std::filesystem::path& bundle, const std::string& id);

// The DeleteResponse the subcommand prints.
containerd::task::v2::DeleteResponse ToDeleteResponse(const DeleteOutcome& outcome);

}  // namespace podshim::shim::task
