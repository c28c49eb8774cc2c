// An exec process's own cgroup, <container cgroup>/podshim-exec-<exec id>, so that whatever it
// forks is found and killed when the exec is deleted or its container removed, and the
// container's Pids (which read the cgroups below its own) include it. Exec ids come from the
// client and become a path component only after CheckExecId.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace podshim::shim::task {

// kInvalidSpec unless `exec_id` is a safe path component: 1-128 bytes, printable ASCII, no
// '/', not "." or "..". The message names the problem (`"a/b" has a '/'`).
Status CheckExecId(const std::string& exec_id);

// <container_dir>/podshim-exec-<exec_id> (exec_id checked).
std::filesystem::path ExecCgroupPath(const std::filesystem::path& container_dir,
                                     const std::string& exec_id);

// Creates it (an existing one, left by a crashed shim, is emptied and reused).
Status CreateExecCgroup(const std::filesystem::path& dir);

// Kills what is left in it (cgroup.kill, else SIGKILL to each pid of cgroup.procs), waits up to
// a second for it to empty and removes it. A missing directory is success.
Status RemoveExecCgroup(const std::filesystem::path& dir);

// RemoveExecCgroup for every podshim-exec-* directory below `container_dir`.
Status RemoveExecCgroups(const std::filesystem::path& container_dir);

}  // namespace podshim::shim::task
