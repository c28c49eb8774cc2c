// The state directory of `podshim oci`: <root>/<id>/state.json (runc-compatible fields plus the
// init pid's start time, to notice pid reuse) and <root>/<id>/exec.fifo, the start gate. The
// status is derived the way runc derives it: created while exec.fifo exists and the process lives,
// running once the fifo is gone, stopped when the process is dead (or a zombie, or a reused pid).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"

namespace podshim::oci {

enum class ContainerStatus { kCreating, kCreated, kRunning, kPaused, kStopped };

// "creating", "created", "running", "paused", "stopped" (the runtime-spec and runc spellings).
const char* ContainerStatusName(ContainerStatus status);
Result<ContainerStatus> ParseContainerStatus(std::string_view name);

// What podshim records about one container. The first fields are the runtime-spec state plus
// runc's additions (rootfs, created, owner); the rest is podshim's own bookkeeping.
struct ContainerState {
  std::string oci_version;
  std::string id;
  ContainerStatus status = ContainerStatus::kCreated;  // as recorded; see DeriveStatus
  pid_t pid = 0;
  std::string bundle;   // absolute
  std::string rootfs;   // absolute
  std::string created;  // RFC 3339, UTC
  std::string owner;
  std::map<std::string, std::string> annotations;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22 (clock ticks since boot)
  // Hooks that run after create returned; kept here because the bundle may change or be gone.
  std::vector<Hook> start_container;  // run inside the container's namespaces at start
  std::vector<Hook> poststart;        // after start
  std::vector<Hook> poststop;         // at delete
  // The container's cgroup v2 (cgroup_path empty: none, e.g. a host without a cgroup2 mount):
  // the cgroup2 mount point, the cgroup below it ("podshim/web"), and the directories podshim
  // created for it (outermost first; empty when it joined an existing cgroup), which delete
  // removes. resources_json: linux.resources as last applied (`update` merges into it).
  std::string cgroup_mount;
  std::string cgroup_path;
  std::vector<std::string> cgroup_created;
  std::string resources_json;

  // <cgroup_mount>/<cgroup_path>; empty without a cgroup.
  std::filesystem::path CgroupDir() const;
};

// The state as `runc state` prints it and as hooks receive it on stdin: ociVersion, id, pid,
// status, bundle, rootfs, created, owner, and annotations when there are any. `status` replaces
// the recorded one. indent < 0 gives one line.
std::string StateToRuncJson(const ContainerState& state, ContainerStatus status, int indent);
// The on-disk state.json: the runc fields plus pidStartTime and the hooks still to run.
std::string StateToFileJson(const ContainerState& state);
// Parses state.json; errors name the field ("state.json: pid: expected an integer").
Result<ContainerState> StateFromFileJson(std::string_view text);

// The two fields of /proc/<pid>/stat the status derivation needs.
struct ProcStat {
  char state = '?';         // R, S, D, Z, X, T, ...
  uint64_t start_time = 0;  // field 22
};
// Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses).
Result<ProcStat> ParseProcStat(std::string_view text);
// Reads <proc_root>/<pid>/stat; nullopt when the process does not exist.
Result<std::optional<ProcStat>> ReadProcStat(const std::filesystem::path& proc_root, pid_t pid);

// runc's rule: a dead, zombie or reused pid is stopped; otherwise paused while the container's
// cgroup is frozen (cgroup.freeze 1), created while the fifo exists, running once it is gone. A
// process in group-stop ('T') is still running.
ContainerStatus DeriveStatus(const ContainerState& state, const std::optional<ProcStat>& proc,
                             bool fifo_exists, bool frozen = false);

// Container ids as runc accepts them: [A-Za-z0-9_+.-]+, not "." or "..", at most 1024 bytes.
Status ValidateContainerId(std::string_view id);

class StateDir {
 public:
  explicit StateDir(std::filesystem::path root, std::filesystem::path proc_root = "/proc");

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path ContainerDir(std::string_view id) const;
  std::filesystem::path FifoPath(std::string_view id) const;

  // Makes <root> (0711, as runc) and then <root>/<id> exclusively: an existing one is
  // kConflict `container "x" already exists`.
  Status CreateContainerDir(std::string_view id) const;
  // Replaces state.json atomically for readers (temporary file, rename; no fsync: volatile).
  Status Save(const ContainerState& state) const;
  // kNotFound `container "x" does not exist` when there is no state.json.
  Result<ContainerState> Load(std::string_view id) const;
  // Ids of every container with a state.json, sorted.
  Result<std::vector<std::string>> List() const;
  // Removes <root>/<id> and everything in it; succeeds when it is already gone.
  Status Remove(std::string_view id) const;

  // Reads the process, the fifo and the cgroup's cgroup.freeze and derives the status now.
  Result<ContainerStatus> CurrentStatus(const ContainerState& state) const;

 private:
  std::filesystem::path root_;
  std::filesystem::path proc_root_;
};

}  // namespace podshim::oci
