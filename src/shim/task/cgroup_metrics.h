// The Stats reply's payload: containerd's io.containerd.cgroups.v2.Metrics (shim/proto/
// metrics.proto) read from a container's cgroup v2 directory (cpu.stat, memory.*, pids.*,
// io.stat, hugetlb.*). A file that is not there (a controller the cgroup lacks, as on a hybrid
// host's cgroup2) leaves its fields 0; cpu, memory, pids and io are always present, since
// containerd's CRI plugin drops a container whose stats lack cpu or memory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

#include "common/result.h"
#include "shim/proto/metrics.pb.h"

namespace podshim::shim::task {

// Stats' type_url: the message's full name, without the "type.googleapis.com/" prefix (containerd
// 1.6's typeurl looks it up by exactly this name).
inline constexpr std::string_view kCgroupV2MetricsTypeUrl = "io.containerd.cgroups.v2.Metrics";

// Longest control file read; a longer io.stat is cut at the last whole line within it.
inline constexpr size_t kMaxStatFileBytes = 64 * 1024;

// The counters of the cgroup at `dir`. An empty path (the task has no cgroup) or a directory
// that is gone gives all zeros. Error naming the file when one cannot be read or parsed.
Result<io::containerd::cgroups::v2::Metrics> ReadCgroupMetrics(const std::filesystem::path& dir);

}  // namespace podshim::shim::task
