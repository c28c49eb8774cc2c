// LeafRetirer: removes the leaf cgroups of ended container instances (an exit was handled, or a
// start failed). An empty leaf goes at once; one still busy (processes outside the container's
// PID namespace, a start's child still dying) is emptied through cgroup.kill, which is harmless
// as a leaf is never started into again, and its removal retried on a timer, 10 ms doubling up
// to 1 s. One that cannot be removed is left for RemovePod at the end of the pod.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "cgroups/manager.h"

namespace podshim::shim {

class LeafRetirer {
 public:
  // Both must outlive the retirer.
  LeafRetirer(boost::asio::io_context& io, cgroups::CgroupManager& cgroups);
  LeafRetirer(const LeafRetirer&) = delete;
  LeafRetirer& operator=(const LeafRetirer&) = delete;

  // The instance of container `name` that ran in `leaf` has ended.
  void Retire(const std::string& name, const cgroups::CgroupPath& leaf);

 private:
  void Arm();

  cgroups::CgroupManager& cgroups_;
  boost::asio::steady_timer timer_;
  std::vector<cgroups::CgroupPath> retiring_;  // still busy
  std::chrono::milliseconds delay_;
};

}  // namespace podshim::shim
