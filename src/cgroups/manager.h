// CgroupManager (interface, so the shim can use a fake) and CgroupV2Manager: the pod cgroup
// <parent>/pod-<id> and one leaf per container instance (<name>-<restartCount>, see
// InstanceLeafName) on cgroup v2, through an injected CgroupFs.
// It enables controllers top-down in cgroup.subtree_control, writes CgroupFileValues and reads
// them back, kills (cgroup.kill), freezes, reads events and stats, and removes only what it
// created. Controllers the host does not offer are recorded and reported once, never logged.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/cgroup_file_value.h"
#include "cgroups/cgroup_fs.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::cgroups {

// What ReadStats found. A field is empty when its file is absent because the controller is not
// enabled for that cgroup (memory.current without memory, pids.current without pids).
struct CgroupStats {
  std::optional<uint64_t> cpu_usage_usec;  // cpu.stat usage_usec (core: always on cgroup v2)
  std::optional<uint64_t> cpu_nr_throttled;
  std::optional<uint64_t> cpu_throttled_usec;
  std::optional<uint64_t> memory_current_bytes;  // memory.current
  std::optional<uint64_t> pids_current;          // pids.current
  std::optional<uint64_t> oom_kills;             // memory.events oom_kill
  bool operator==(const CgroupStats&) const = default;
};

// The leaf of one instance (one start) of container `container`: "<container>-<instance>".
// Every start gets a fresh leaf: a cgroup that once received cgroup.kill kills every later
// clone3(CLONE_INTO_CGROUP) child at birth on current kernels (6.18), so a leaf is never reused.
// Unambiguous: container names are DNS labels and the instance is the part after the last '-'.
std::string InstanceLeafName(std::string_view container, uint64_t instance);

class CgroupManager {
 public:
  virtual ~CgroupManager() = default;

  // Creates <parent>/pod-<pod_id> (and the parent if missing) and enables the base controllers
  // from the parent down. Error kConflict if the pod cgroup exists already.
  virtual Result<CgroupPath> CreatePod(std::string_view pod_id) = 0;
  // Creates the leaf <pod>/<name> for one container instance (`name` from InstanceLeafName);
  // CreatePod must have succeeded. Error kConflict if it exists already.
  virtual Result<CgroupPath> CreateContainer(std::string_view name) = 0;
  // Creates <leaf>/<name> below a container's leaf for a process run in the container (an
  // exec): no controllers of its own (the leaf's limits cover it), so that Kill() ends just
  // that process tree. Remove it with Remove(); RemovePod() removes it too.
  virtual Result<CgroupPath> CreateExecGroup(const CgroupPath& leaf, std::string_view name) = 0;
  // Writes `values` in order to `cg` after enabling their controllers top-down, and reads each
  // back. Files whose controller is not available are skipped and recorded (error if required).
  virtual Status Apply(const CgroupPath& cg, const CgroupFileValues& values) = 0;
  // O_PATH|O_DIRECTORY|O_CLOEXEC fd of `cg`, for clone3(CLONE_INTO_CGROUP).
  virtual Result<UniqueFd> OpenDirFd(const CgroupPath& cg) const = 0;
  // Moves `pid` into `cg` (cgroup.procs).
  virtual Status AddProcess(const CgroupPath& cg, pid_t pid) = 0;
  // SIGKILLs every process in `cg` and its descendants.
  virtual Status Kill(const CgroupPath& cg) = 0;
  virtual Status Freeze(const CgroupPath& cg) = 0;
  virtual Status Thaw(const CgroupPath& cg) = 0;
  virtual Result<CgroupStats> ReadStats(const CgroupPath& cg) const = 0;
  // memory.events oom_kill; nullopt when the memory controller is not enabled for `cg`.
  virtual Result<std::optional<uint64_t>> ReadOomKills(const CgroupPath& cg) const = 0;
  // cgroup.events "populated".
  virtual Result<bool> Populated(const CgroupPath& cg) const = 0;
  // Removes one cgroup this manager created (retrying while the kernel says EBUSY).
  virtual Status Remove(const CgroupPath& cg) = 0;
  // One rmdir of a cgroup this manager created, without waiting: true when it is gone (or was
  // already), false while the kernel says EBUSY (still populated, processes still exiting, or a
  // child cgroup left); the caller retries later. Error kConflict for a cgroup not created here.
  virtual Result<bool> TryRemove(const CgroupPath& cg) = 0;
  // Removes the leaves, then the pod, then the parent directories this manager created.
  virtual Status RemovePod() = 0;

  // Controllers wanted but not available (sorted), e.g. {"cpu", "memory", "pids"} on a hybrid host.
  virtual std::vector<std::string> MissingControllers() const = 0;
  // Files Apply skipped, as "<cgroup>/<file>" relative to the cgroup root, in skip order.
  virtual std::vector<std::string> NotEnforcedFiles() const = 0;
  // The warning the caller logs (once): set the first time after a controller went missing,
  // naming the controllers and the files not enforced so far; nullopt until something new is
  // missing. Call it after applying the pod's values so the file list is complete.
  virtual std::optional<std::string> TakeWarning() = 0;
  // Absolute path of `cg` for events and status ("/sys/fs/cgroup/podshim/pod-web").
  virtual std::filesystem::path FullPath(const CgroupPath& cg) const = 0;
};

struct CgroupManagerOptions {
  // Where pods go, relative to the CgroupFs root (--cgroup-parent; default "podshim").
  CgroupPath parent;
  // --cgroup-required: a missing controller is an error instead of a warning.
  bool required = false;
  // Enabled for the pod and every leaf even with no value to write, so limits and stats work.
  std::vector<std::string> base_controllers = {"cpu", "memory", "pids"};
  // Remove(): retry rmdir while EBUSY, waiting 1 ms, 2 ms, 4 ms, ... up to this long in total.
  std::chrono::milliseconds remove_timeout{1000};
  // Freeze()/Thaw(): how long to wait for cgroup.events to report the new state.
  std::chrono::milliseconds freeze_timeout{1000};
  // For the read-back comparison of memory.* files; 0 means sysconf(_SC_PAGESIZE).
  uint64_t page_size = 0;
  // Apply() reads each file back and compares. `podshim oci` turns it off, as runc does: OCI
  // values (io.max lines, `unified` keys, cpuset lists) read back in other forms.
  bool verify_read_back = true;
};

class CgroupV2Manager final : public CgroupManager {
 public:
  CgroupV2Manager(std::unique_ptr<CgroupFs> fs, CgroupManagerOptions options);

  Result<CgroupPath> CreatePod(std::string_view pod_id) override;
  Result<CgroupPath> CreateContainer(std::string_view name) override;
  Result<CgroupPath> CreateExecGroup(const CgroupPath& leaf, std::string_view name) override;
  // The kernel may change what it stores; a read-back is accepted when ReadBackMatches (see
  // control_files.h): memory.* rounded down to the page size, hugetlb.* to the huge page size.
  // Any other difference is error kConflict naming the file, the value written and the value read.
  Status Apply(const CgroupPath& cg, const CgroupFileValues& values) override;
  Result<UniqueFd> OpenDirFd(const CgroupPath& cg) const override;
  Status AddProcess(const CgroupPath& cg, pid_t pid) override;
  // Writes "1" to cgroup.kill (kernel 5.14). Without cgroup.kill it freezes the cgroup, sends
  // SIGKILL to each pid in cgroup.procs (this cgroup only) and thaws it.
  Status Kill(const CgroupPath& cg) override;
  // cgroup.freeze (kernel 5.2), then polls cgroup.events until "frozen" matches, doubling the
  // wait from 1 ms; error kTimeout after options.freeze_timeout.
  Status Freeze(const CgroupPath& cg) override;
  Status Thaw(const CgroupPath& cg) override;
  Result<CgroupStats> ReadStats(const CgroupPath& cg) const override;
  Result<std::optional<uint64_t>> ReadOomKills(const CgroupPath& cg) const override;
  Result<bool> Populated(const CgroupPath& cg) const override;
  // Error kConflict for a cgroup this manager did not create. An already-removed cgroup is fine.
  Status Remove(const CgroupPath& cg) override;
  Result<bool> TryRemove(const CgroupPath& cg) override;
  // Attempts every removal and returns the first error. Then each --cgroup-parent component that
  // podshim created (this manager, or another shim: marked with an xattr) is removed, deepest
  // first, while it is empty; one still busy (another pod shares it) is left in place without an
  // error, for whoever removes the last pod below it.
  Status RemovePod() override;

  std::vector<std::string> MissingControllers() const override;
  std::vector<std::string> NotEnforcedFiles() const override;
  std::optional<std::string> TakeWarning() override;
  std::filesystem::path FullPath(const CgroupPath& cg) const override;

  // For `podshim oci` (options.parent is the root): creates the cgroup at exactly `cg` and its
  // missing ancestors, enabling the base controllers top-down from the root (missing ones are
  // recorded for TakeWarning). An existing `cg` is joined: it is not recorded as created, so
  // RemovePod() leaves it. Returns what it created, outermost first (manager_place.cc).
  Result<std::vector<CgroupPath>> CreateAt(const CgroupPath& cg);
  // For a shim taking over the pod of one that died: the existing pod cgroup of `pod_id`
  // becomes this manager's, with every cgroup below it (leaves, exec groups), as if it had
  // created them all. kNotFound when it does not exist.
  Result<CgroupPath> AdoptPod(std::string_view pod_id);
  // Takes `dirs` (what an earlier CreateAt created, maybe in another process) as created by
  // this manager, so that Remove() and RemovePod() remove them.
  void AdoptCreated(const std::vector<CgroupPath>& dirs);
  // After `cg` is gone: rmdir of each ancestor that podshim created (this manager, or another
  // podshim: marked as CreatedParent), deepest first, while it is empty. Busy ones stay, for
  // whoever removes the last cgroup below them.
  void RemoveEmptyParentsOf(const CgroupPath& cg);

  // The pod cgroup, once CreatePod succeeded.
  const std::optional<CgroupPath>& pod() const { return pod_; }

 private:
  // Enables `wanted` in cgroup.subtree_control of every ancestor of `target`, top-down, from
  // the first component of the parent (or the root when the parent is the root). Returns the
  // controllers that reach `target`; records the others as missing.
  Result<std::set<std::string>> EnableControllers(const CgroupPath& target,
                                                  const std::set<std::string>& wanted);
  Status RemoveWithRetry(const CgroupPath& cg) const;
  Status WaitFrozen(const CgroupPath& cg, bool frozen) const;
  Status KillWithoutCgroupKill(const CgroupPath& cg);
  // Removes what CreatePod created when it fails half-way.
  void UndoCreated();
  Result<CgroupPath> CreatePodOnce(std::string_view pod_id);
  // After the pod cgroup is gone: rmdir of each empty parent component podshim created.
  void RemoveEmptyParents();

  std::unique_ptr<CgroupFs> fs_;
  CgroupManagerOptions options_;
  uint64_t page_size_;
  std::optional<CgroupPath> pod_;
  std::vector<CgroupPath> created_;  // in creation order
  std::set<CgroupPath> created_parents_;
  // controller -> where it was found missing, and what that cgroup offered instead.
  std::map<std::string, std::pair<CgroupPath, std::string>> missing_;
  std::set<std::string> warned_;
  std::vector<std::pair<CgroupPath, std::string>> not_enforced_;
};

}  // namespace podshim::cgroups
