// Finds the cgroup2 mount in /proc/<pid>/mountinfo text (proc(5)): a pure v2 host mounts it at
// /sys/fs/cgroup, a hybrid host at /sys/fs/cgroup/unified beside the v1 hierarchies, a v1-only
// host has none. Parsing is pure; ReadCgroup2Mount is the one function that reads the file.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace podshim::cgroups {

struct CgroupMount {
  std::filesystem::path mount_point;  // e.g. "/sys/fs/cgroup/unified" (octal escapes decoded)
  std::string root;                   // the mounted subtree ("/" unless in a cgroup namespace view)
  bool read_only = false;             // "ro" in the mount or super-block options
  bool operator==(const CgroupMount&) const = default;
};

// Picks the cgroup2 mount: /sys/fs/cgroup if it is cgroup2, else /sys/fs/cgroup/unified, else the
// first cgroup2 line. Error kNotFound when there is none (a cgroup v1-only host), kInvalidSpec
// naming the line when a line is malformed.
Result<CgroupMount> FindCgroup2Mount(std::string_view mountinfo);

// Every mount point in mountinfo text, in order, octal escapes decoded (malformed lines skipped).
std::vector<std::string> MountPoints(std::string_view mountinfo);

// Reads `mountinfo_path` (default /proc/self/mountinfo) and calls FindCgroup2Mount; errors name
// the file.
Result<CgroupMount> ReadCgroup2Mount(
    const std::filesystem::path& mountinfo_path = "/proc/self/mountinfo");

}  // namespace podshim::cgroups
