#include "shim/run/leaf_retirer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace podshim::shim {
namespace {

constexpr auto kRetireFirstRetry = std::chrono::milliseconds(10);
constexpr auto kRetireMaxRetry = std::chrono::milliseconds(1000);

}  // namespace

LeafRetirer::LeafRetirer(boost::asio::io_context& io, cgroups::CgroupManager& cgroups)
    : cgroups_(cgroups), timer_(io), delay_(kRetireFirstRetry) {}

void LeafRetirer::Retire(const std::string& name, const cgroups::CgroupPath& leaf) {
  Result<bool> removed = cgroups_.TryRemove(leaf);
  if (removed && *removed) return;
  if (!removed) {
    spdlog::warn("remove the cgroup of {}: {}", name, removed.error().ToString());
    return;  // RemovePod tries again when the pod ends
  }
  Status killed = cgroups_.Kill(leaf);
  if (!killed) {
    spdlog::warn("kill what is left in the cgroup of {}: {}", name, killed.error().ToString());
  }
  retiring_.push_back(leaf);
  if (retiring_.size() == 1) {
    delay_ = kRetireFirstRetry;
    Arm();
  }
}

void LeafRetirer::Arm() {
  timer_.expires_after(delay_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    std::erase_if(retiring_, [this](const cgroups::CgroupPath& leaf) {
      Result<bool> removed = cgroups_.TryRemove(leaf);
      if (!removed) {
        spdlog::warn("remove cgroup {}: {}", cgroups_.FullPath(leaf).string(),
                     removed.error().ToString());
      }
      return !removed || *removed;  // an error: RemovePod tries again at the end
    });
    if (retiring_.empty()) return;
    delay_ = std::min(delay_ * 2, kRetireMaxRetry);
    Arm();
  });
}

}  // namespace podshim::shim
