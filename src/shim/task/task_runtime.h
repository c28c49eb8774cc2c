// TaskRuntime: what the containerd task service asks of the machine, one call per effect
// (launch to the start gate, open it, signal, list, remove, record an exit), so that the
// service's mapping of RPCs onto it is unit-testable with a fake. The real one is
// OciTaskRuntime (task_runtime_oci.h), over `podshim oci`'s lifecycle (shim/ocirt).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "oci/spec.h"
#include "shim/task/rootfs_mounts.h"

namespace podshim::shim::task {

// A task's identity on disk: its id and its bundle (where its runtime state and exit record live).
struct TaskKey {
  std::string id;
  std::filesystem::path bundle;
};

// What CreateTask asks for, as the runtime needs it.
struct TaskLaunch {
  TaskKey key;
  std::vector<RootfsMount> rootfs;  // mounted in order on <bundle>/rootfs; empty: none
  // FIFO paths from containerd; empty: /dev/null.
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
  // process.terminal: the container gets a pty; its master comes back in CreatedTask, and
  // stdin/stdout are relayed by the shim (stderr is unused: the pty carries both outputs).
  bool terminal = false;
};

// What Create leaves: the container's pid and, for a terminal, the pty master and containerd's
// FIFOs for the shim's relay (non-blocking; an empty path gives no fd). All empty otherwise.
struct CreatedTask {
  pid_t pid = 0;
  std::map<std::string, std::string> annotations;  // the spec's annotations
  UniqueFd master;
  UniqueFd stdin_fifo;   // read by the relay (or, without a terminal, the stdin pump)
  UniqueFd stdout_fifo;  // written by the relay
  // A stdin FIFO without a terminal: the write end of the process's stdin pipe, which the
  // shim's pump fills from stdin_fifo (non-blocking).
  UniqueFd stdin_pipe;
  // Any stdin FIFO: a write handle on it, so that its reader sees EOF only once this is closed
  // (CloseIO) and the client's writer is gone too, as runc's shim holds one.
  UniqueFd stdin_keep;
};

// What Start(exec_id) asks for: a new process in the running container `key`.
struct ExecLaunch {
  TaskKey key;
  std::string exec_id;
  oci::Process process;    // from Exec's spec (process.terminal = the request's terminal)
  std::string stdin_path;  // FIFO paths as in TaskLaunch; empty: /dev/null
  std::string stdout_path;
  std::string stderr_path;
  std::filesystem::path cgroup_dir;  // the exec's own cgroup v2 dir; empty: the container's
};

class TaskRuntime {
 public:
  virtual ~TaskRuntime() = default;

  // Mounts the rootfs, opens the stdio, checks the bundle and sets the container up to its
  // start gate as a child of the caller; returns its pid. On error nothing is left behind.
  virtual Result<CreatedTask> Create(const TaskLaunch& launch) = 0;
  // Opens the start gate: the container's program runs.
  virtual Status Start(const TaskKey& key) = 0;
  // Signals the container's init (pidfd). ESRCH / kConflict once it is gone.
  virtual Status Signal(const TaskKey& key, int sig) = 0;
  // Signals every process of the container's cgroup.
  virtual Status SignalAll(const TaskKey& key, int sig) = 0;
  // The pids of the container's cgroup (the init alone without a cgroup).
  virtual Result<std::vector<pid_t>> Pids(const TaskKey& key) = 0;
  // The container's cgroup v2 directory (under the cgroup2 mount); an empty path when it has
  // none (a host without cgroup2). For Stats, Update, the OOM watch and exec cgroups.
  virtual Result<std::filesystem::path> CgroupDir(const TaskKey& key) = 0;
  // Merges `resources_json` (an OCI linux.resources object, as containerd's Update sends it)
  // into the container's recorded resources and writes them to its cgroup; `field` names the
  // source in errors ("resources"). Needs a cgroup (CgroupDir not empty).
  virtual Status Update(const TaskKey& key, const std::string& resources_json,
                        const std::string& field) = 0;
  // Freezes (cgroup.freeze) and thaws the container's cgroup. Needs a cgroup.
  virtual Status Pause(const TaskKey& key) = 0;
  virtual Status Resume(const TaskKey& key) = 0;
  // Sets the window size of a task's pty (TIOCSWINSZ on its master).
  virtual Status ResizePty(int master, uint16_t width, uint16_t height) = 0;
  // Records the init's exit durably (before it is reported anywhere); `oom`: its cgroup saw an
  // OOM kill during its life (the kubelet's OOMKilled).
  virtual Status RecordExit(const TaskKey& key, int exit_status, bool oom) = 0;
  // Launches an exec process in the container as a child of the caller (which reaps it);
  // its pid, and the fds for the shim's relay or stdin pump as Create's. On error nothing runs.
  virtual Result<CreatedTask> StartExec(const ExecLaunch& launch) = 0;
  // Signals one process the caller has not reaped yet (an exec).
  virtual Status SignalProcess(pid_t pid, int sig) = 0;
  // Kills a created container (bounded wait), removes its cgroup and runtime state, unmounts
  // its rootfs. The exit record stays (the `delete` subcommand reads it).
  virtual Status Remove(const TaskKey& key) = 0;
};

}  // namespace podshim::shim::task
