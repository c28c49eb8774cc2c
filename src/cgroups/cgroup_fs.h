// CgroupFs: the cgroup2 tree as files, relative to a root directory fd (O_PATH|O_DIRECTORY) that
// is injected: production opens the host's cgroup2 mount, unit tests a temporary directory. It
// does openat-relative read / write / mkdir / rmdir and names the full path in every error; no
// policy. CgroupPath and ControlFile keep "which cgroup" and "which file" from being swapped.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::cgroups {

// A cgroup relative to the CgroupFs root: "" is the root itself, "podshim/pod-web". Components
// are never empty, ".", ".." or contain '/', so a CgroupPath cannot escape the root.
class CgroupPath {
 public:
  CgroupPath() = default;  // the root
  // Accepts "a/b", "/a/b", "a/b/" (leading and trailing '/' are dropped); rejects "..", "." and
  // empty components with an error quoting the path.
  static Result<CgroupPath> Parse(std::string_view path);
  // This path plus one component; rejects a name that is not a single valid component.
  Result<CgroupPath> Child(std::string_view name) const;
  // The parent (the root's parent is the root).
  CgroupPath Parent() const;
  bool IsRoot() const { return path_.empty(); }
  // Number of components: 0 for the root.
  size_t Depth() const;
  // The first `n` components (Prefix(0) is the root).
  CgroupPath Prefix(size_t n) const;
  // "podshim/pod-web"; "" for the root.
  const std::string& str() const { return path_; }
  // Path usable with openat(): "." for the root.
  std::string RelativeForOpen() const { return path_.empty() ? "." : path_; }
  bool operator==(const CgroupPath&) const = default;
  auto operator<=>(const CgroupPath&) const = default;

 private:
  explicit CgroupPath(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// The name of one control file in a cgroup directory ("memory.max", "cgroup.procs").
class ControlFile {
 public:
  // For names known at compile time to be valid (the constants below). Input goes via Parse.
  explicit ControlFile(std::string_view name) : name_(name) {}
  // Validates a name from input: non-empty, no '/', not "." or "..".
  static Result<ControlFile> Parse(std::string_view name);
  const std::string& name() const { return name_; }
  bool operator==(const ControlFile&) const = default;

 private:
  std::string name_;
};

inline const ControlFile kCgroupControllers{"cgroup.controllers"};
inline const ControlFile kCgroupSubtreeControl{"cgroup.subtree_control"};
inline const ControlFile kCgroupProcs{"cgroup.procs"};
inline const ControlFile kCgroupEvents{"cgroup.events"};
inline const ControlFile kCgroupFreeze{"cgroup.freeze"};  // kernel 5.2
inline const ControlFile kCgroupKill{"cgroup.kill"};      // kernel 5.14
inline const ControlFile kCpuStat{"cpu.stat"};
inline const ControlFile kMemoryCurrent{"memory.current"};
inline const ControlFile kMemoryEvents{"memory.events"};
inline const ControlFile kPidsCurrent{"pids.current"};

class CgroupFs {
 public:
  // Opens `root` as O_PATH|O_DIRECTORY|O_CLOEXEC. The root is not checked to be cgroup2: tests
  // pass a plain directory.
  static Result<CgroupFs> Open(const std::filesystem::path& root);

  CgroupFs(CgroupFs&&) = default;
  CgroupFs& operator=(CgroupFs&&) = default;
  // Virtual so a test fixture can play the kernel (populate a new directory with its control
  // files, apply cgroup.subtree_control); production uses this class as is.
  virtual ~CgroupFs() = default;

  // Writes `value` with one write() to an existing file (O_WRONLY|O_TRUNC, never O_CREAT: a
  // missing file means the controller is not enabled here). The kernel validates the value
  // and reports EINVAL / EBUSY / EOPNOTSUPP through the write.
  virtual Status Write(const CgroupPath& cg, const ControlFile& file, std::string_view value) const;
  virtual Result<std::string> Read(const CgroupPath& cg, const ControlFile& file) const;
  // mkdirat(0755). EEXIST is returned as an error: the caller decides what an existing cgroup
  // means.
  virtual Status MakeDir(const CgroupPath& cg) const;
  // rmdir. On cgroupfs this succeeds with control files inside and fails with EBUSY while the
  // cgroup has processes or children.
  virtual Status RemoveDir(const CgroupPath& cg) const;
  // O_PATH|O_DIRECTORY|O_CLOEXEC fd of the cgroup directory, e.g. for clone3(CLONE_INTO_CGROUP)
  // (kernel 5.7), which accepts O_PATH fds.
  virtual Result<UniqueFd> OpenDir(const CgroupPath& cg) const;
  // Whether the cgroup directory exists.
  virtual Result<bool> Exists(const CgroupPath& cg) const;
  // Whether `file` exists in `cg` (a controller's files exist only where it is enabled).
  virtual Result<bool> HasFile(const CgroupPath& cg, const ControlFile& file) const;

  const std::filesystem::path& root() const { return root_path_; }
  // Absolute path for messages and events: "<root>/<cg>" or "<root>/<cg>/<file>".
  std::filesystem::path FullPath(const CgroupPath& cg) const;
  std::filesystem::path FullPath(const CgroupPath& cg, const ControlFile& file) const;

 protected:
  CgroupFs(UniqueFd root_fd, std::filesystem::path root_path)
      : root_fd_(std::move(root_fd)), root_path_(std::move(root_path)) {}
  int root_fd() const { return root_fd_.get(); }

 private:
  UniqueFd root_fd_;
  std::filesystem::path root_path_;
};

}  // namespace podshim::cgroups
