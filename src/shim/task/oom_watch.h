// OomWatch: where the task service has a task's cgroup watched for OOM kills: the memory
// controller's hierarchical memory.events `oom_kill` counter, as containerd's runc shim reads
// it. The shim binary's one is inotify on its Asio loop (shim/shimv2/oom_watcher.h); unit tests
// use a fake. A changed counter comes back through TaskService::OnOomKills.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

namespace podshim::shim::task {

class OomWatch {
 public:
  virtual ~OomWatch() = default;
  // Starts watching <cgroup_dir>/memory.events for task `id` and returns its oom_kill count
  // now. nullopt when the file is absent (the cgroup has no memory controller, as on hybrid
  // hosts): nothing is watched, which is not an error.
  virtual Result<std::optional<uint64_t>> Add(const std::string& id,
                                              const std::filesystem::path& cgroup_dir) = 0;
  // The task's oom_kill count now (one bounded read of the watched file); nullopt when the
  // task is not watched or the file cannot be read.
  virtual std::optional<uint64_t> Read(const std::string& id) = 0;
  // Stops watching the task (before its cgroup is removed). Unknown ids are ignored.
  virtual void Remove(const std::string& id) = 0;
};

}  // namespace podshim::shim::task
