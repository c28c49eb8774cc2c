// OciTaskRuntime: TaskRuntime over `podshim oci`'s runc-like lifecycle (shim/ocirt). Each task
// keeps its runtime state inside its own bundle, <bundle>/.podshim/oci/<id> (runc-style
// state.json and exec.fifo), and its exit record at <bundle>/.podshim/containers/<id>/exit: test
// runs never collide, and containerd's removal of the bundle leaves nothing behind.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "oci/state.h"
#include "shim/ocirt/oci_exec.h"
#include "shim/record/exit_records.h"
#include "shim/task/task_runtime.h"

namespace podshim::shim::task {

// <bundle>/.podshim: everything podshim writes into a task's bundle.
std::filesystem::path TaskStateRoot(const std::filesystem::path& bundle);
// The runtime state dir of the bundle's tasks (<bundle>/.podshim/oci).
oci::StateDir TaskOciStateDir(const std::filesystem::path& bundle);
// The exit records of the bundle's tasks (<bundle>/.podshim/containers/<id>/exit).
ExitRecords TaskExitRecords(const std::filesystem::path& bundle);

class OciTaskRuntime final : public TaskRuntime {
 public:
  // create_in_forked_child: Create's `podshim oci create` step runs in a short-lived forked child
  // (common/forked_call.h) so that the code it touches once stays out of the resident shim's
  // RSS. The caller must then be a child subreaper (the container's init is re-parented to it).
  explicit OciTaskRuntime(bool create_in_forked_child = false)
      : create_in_forked_child_(create_in_forked_child) {}

  Result<CreatedTask> Create(const TaskLaunch& launch) override;
  Status Start(const TaskKey& key) override;
  Result<CreatedTask> StartExec(const ExecLaunch& launch) override;
  Status SignalProcess(pid_t pid, int sig) override;
  Status Signal(const TaskKey& key, int sig) override;
  Status SignalAll(const TaskKey& key, int sig) override;
  Result<std::vector<pid_t>> Pids(const TaskKey& key) override;
  Result<std::filesystem::path> CgroupDir(const TaskKey& key) override;
  Status Update(const TaskKey& key, const std::string& resources_json,
                const std::string& field) override;
  Status Pause(const TaskKey& key) override;
  Status Resume(const TaskKey& key) override;
  Status ResizePty(int master, uint16_t width, uint16_t height) override;
  Status RecordExit(const TaskKey& key, int exit_status, bool oom) override;
  Status Remove(const TaskKey& key) override;

 private:
  bool create_in_forked_child_;
  // Each container's compiled seccomp filter, from its first exec until Remove (exec probes
  // through the CRI exec many times into one container). Key: bundle and id.
  std::map<std::pair<std::filesystem::path, std::string>, ExecSeccompCache> exec_seccomp_;
};

}  // namespace podshim::shim::task
