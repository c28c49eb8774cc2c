#include "shim/task/task_cleanup.h"

#include <sys/stat.h>

#include <chrono>
#include <utility>

#include "oci/state.h"
#include "shim/ocirt/oci_lifecycle.h"
#include "shim/task/exec_cgroup.h"
#include "shim/task/rootfs_mounts.h"
#include "shim/task/task_runtime_oci.h"

namespace podshim::shim::task {
namespace {

namespace fs = std::filesystem;

// The exit record's mtime: when the shim recorded the exit (a moment after it happened).
WallTime RecordTime(const fs::path& exit_file) {
  struct stat st {};
  if (::stat(exit_file.c_str(), &st) < 0) return std::chrono::system_clock::now();
  return WallTime(std::chrono::duration_cast<WallTime::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

}  // namespace

Result<DeleteOutcome> CleanupTask(const fs::path& bundle, const std::string& id) {
  PODSHIM_TRY(oci::ValidateContainerId(id));
  DeleteOutcome out;
  auto warn = [&out](const Error& e) { out.warnings.push_back(e.ToString()); };
  const oci::StateDir dir = TaskOciStateDir(bundle);
  if (auto state = dir.Load(id)) {
    out.pid = state->pid;
    // Exec cgroups below the container's would keep it from being removed.
    if (!state->cgroup_path.empty()) (void)RemoveExecCgroups(state->CgroupDir());
  }
  if (Status deleted = OciDelete(dir, id, /*force=*/true); !deleted) warn(deleted.error());
  if (Status unmounted = UnmountRootfs(bundle / "rootfs"); !unmounted) warn(unmounted.error());
  std::error_code ec;
  fs::remove(dir.root(), ec);  // only when empty

  const ExitRecords records = TaskExitRecords(bundle);
  auto record = records.Read(id);
  if (!record) warn(record.error());
  if (record && *record) {
    out.exit_status = (*record)->status;
    out.oom = (*record)->oom;
    out.exited_at = RecordTime(records.Dir(id) / "exit");
  } else {
    out.exited_at = std::chrono::system_clock::now();
  }
  return out;
}

containerd::task::v2::DeleteResponse ToDeleteResponse(const DeleteOutcome& outcome) {
  containerd::task::v2::DeleteResponse r;
  r.set_pid(static_cast<uint32_t>(outcome.pid));
  r.set_exit_status(static_cast<uint32_t>(outcome.exit_status));
  SetTimestamp(outcome.exited_at, r.mutable_exited_at());
  return r;
}

}  // namespace podshim::shim::task
