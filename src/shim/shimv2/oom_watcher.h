// The shim's OOM watch (task::OomWatch) on its one Asio loop: one inotify fd for every task,
// IN_MODIFY on each task's <cgroup>/memory.events (the kernel notifies a change of the file,
// at most every 10 ms), the oom_kill counter read (bounded) and handed to `on_change` for each
// task whose file changed. Cgroups without memory.events (no memory controller) are not watched.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shim/task/oom_watch.h"

namespace podshim::shim::shimv2 {

// memory.events text -> its oom_kill counter; nullopt when it does not parse. Pure.
std::optional<uint64_t> OomKillsIn(std::string_view memory_events);

class AsioOomWatch final : public task::OomWatch {
 public:
  // Called on the loop, never inside Add/Read/Remove, with a task's counter after its file
  // changed (it may not have grown: the caller compares).
  using OnChange = std::function<void(const std::string& id, uint64_t oom_kills)>;

  AsioOomWatch(boost::asio::io_context& loop, OnChange on_change);
  ~AsioOomWatch() override;

  Result<std::optional<uint64_t>> Add(const std::string& id,
                                      const std::filesystem::path& cgroup_dir) override;
  std::optional<uint64_t> Read(const std::string& id) override;
  void Remove(const std::string& id) override;

  // Tasks watched now.
  size_t size() const { return tasks_.size(); }

 private:
  struct Watched {
    int wd = -1;  // -1 once the kernel dropped the watch (the cgroup was removed)
    std::filesystem::path file;
  };
  Status OpenInotify();
  void WaitReadable();
  // Reads the queued inotify events (bounded) and reports every task whose file changed.
  void Drain();
  void ForgetWatch(int wd);

  boost::asio::io_context& loop_;
  OnChange on_change_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;  // opened by the first Add
  std::map<std::string, Watched> tasks_;
  std::multimap<int, std::string> ids_by_wd_;  // a cgroup shared by tasks has one watch
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace podshim::shim::shimv2
