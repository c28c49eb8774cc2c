#include "shim/shimv2/oom_watcher.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <set>
#include <vector>

#include "cgroups/control_files.h"
#include "common/sys.h"

namespace podshim::shim::shimv2 {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxEventsFile = 4096;  // memory.events is ~100 bytes
constexpr int kMaxReadsPerWakeup = 16;   // then back to the loop: other work goes first
constexpr size_t kInotifyBuffer = 4096;  // whole events only: the kernel never splits one

// The file's oom_kill counter; nullopt when it cannot be read or parsed; ENOENT as its error.
Result<std::optional<uint64_t>> ReadOomKills(const fs::path& file) {
  UniqueFd fd = PODSHIM_TRY(sys::Open(file, O_RDONLY | O_CLOEXEC));
  std::string text = PODSHIM_TRY(sys::ReadAll(fd.get(), kMaxEventsFile));
  return OomKillsIn(text);
}

}  // namespace

std::optional<uint64_t> OomKillsIn(std::string_view memory_events) {
  auto events = cgroups::ParseMemoryEvents(memory_events);
  if (!events) return std::nullopt;
  return events->oom_kill;
}

AsioOomWatch::AsioOomWatch(boost::asio::io_context& loop, OnChange on_change)
    : loop_(loop), on_change_(std::move(on_change)) {}

AsioOomWatch::~AsioOomWatch() = default;  // the descriptor closes the inotify fd

Status AsioOomWatch::OpenInotify() {
  if (inotify_) return Ok();
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Error::Errno(errno, "inotify_init1");
  inotify_ = std::make_unique<boost::asio::posix::stream_descriptor>(loop_, fd);
  WaitReadable();
  return Ok();
}

Result<std::optional<uint64_t>> AsioOomWatch::Add(const std::string& id,
                                                  const fs::path& cgroup_dir) {
  Remove(id);
  const fs::path file = cgroup_dir / "memory.events";
  if (::access(file.c_str(), F_OK) < 0) {
    if (errno == ENOENT) return std::optional<uint64_t>();  // no memory controller here
    return Error::Errno(errno, "access " + file.string());
  }
  PODSHIM_TRY(OpenInotify());
  // Watched before it is read: a change between the two is not lost.
  int wd = ::inotify_add_watch(inotify_->native_handle(), file.c_str(), IN_MODIFY);
  if (wd < 0) return Error::Errno(errno, "inotify_add_watch " + file.string());
  auto kills = ReadOomKills(file);
  if (!kills || !*kills) {
    if (ids_by_wd_.count(wd) == 0) (void)::inotify_rm_watch(inotify_->native_handle(), wd);
    if (!kills) return std::move(kills).error();
    return Error::Invalid(file.string() + ": no oom_kill counter");
  }
  tasks_[id] = Watched{wd, file};
  ids_by_wd_.emplace(wd, id);
  return kills;
}

std::optional<uint64_t> AsioOomWatch::Read(const std::string& id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return std::nullopt;
  auto kills = ReadOomKills(it->second.file);
  return kills ? *kills : std::nullopt;
}

void AsioOomWatch::Remove(const std::string& id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  const int wd = it->second.wd;
  tasks_.erase(it);
  if (wd < 0) return;
  auto [first, last] = ids_by_wd_.equal_range(wd);
  for (auto i = first; i != last; ++i) {
    if (i->second == id) {
      ids_by_wd_.erase(i);
      break;
    }
  }
  if (ids_by_wd_.count(wd) == 0) (void)::inotify_rm_watch(inotify_->native_handle(), wd);
}

void AsioOomWatch::ForgetWatch(int wd) {
  auto [first, last] = ids_by_wd_.equal_range(wd);
  for (auto i = first; i != last; ++i) {
    if (auto t = tasks_.find(i->second); t != tasks_.end()) t->second.wd = -1;
  }
  ids_by_wd_.erase(wd);
}

void AsioOomWatch::WaitReadable() {
  std::weak_ptr<int> alive = alive_;
  inotify_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                       [this, alive](const boost::system::error_code& ec) {
                         if (ec || alive.expired()) return;
                         Drain();
                         if (!alive.expired()) WaitReadable();
                       });
}

void AsioOomWatch::Drain() {
  alignas(struct inotify_event) std::array<char, kInotifyBuffer> buf;
  std::set<std::string> changed;
  for (int reads = 0; reads < kMaxReadsPerWakeup; ++reads) {
    ssize_t n = ::read(inotify_->native_handle(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained
    for (size_t off = 0; off + sizeof(struct inotify_event) <= static_cast<size_t>(n);) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf.data() + off);
      off += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {  // events lost: look at every task
        for (const auto& [id, w] : tasks_) changed.insert(id);
      } else if (ev->mask & IN_IGNORED) {  // the file is gone with its cgroup
        ForgetWatch(ev->wd);
      } else if (ev->mask & IN_MODIFY) {
        auto [first, last] = ids_by_wd_.equal_range(ev->wd);
        for (auto i = first; i != last; ++i) changed.insert(i->second);
      }
    }
  }
  std::weak_ptr<int> alive = alive_;
  for (const std::string& id : changed) {
    auto kills = Read(id);  // the task may have been removed by an earlier callback
    if (kills) on_change_(id, *kills);
    if (alive.expired()) return;
  }
}

}  // namespace podshim::shim::shimv2
