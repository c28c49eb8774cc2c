// The shim's terminal relays, on its one Asio loop (no threads): for each task created with a
// terminal, containerd's stdin FIFO -> pty master and master -> stdout FIFO, non-blocking.
// stdin's EOF (ctr gone) only ends that direction; the master's EIO (every slave closed) ends
// the relay once its output is written, closing the stdout FIFO so that its reader sees EOF.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "shim/task/terminal_relays.h"

namespace podshim::shim::shimv2 {

class TerminalRelay;

class AsioTerminalRelays final : public task::TerminalRelays {
 public:
  // `grace`: how long after the task's exit the relay may still drain its master (a process
  // that kept the slave open, outside a pid namespace) before it closes the stdout FIFO.
  explicit AsioTerminalRelays(boost::asio::io_context& loop,
                              std::chrono::milliseconds grace = std::chrono::seconds(2));
  ~AsioTerminalRelays() override;

  Status Start(const std::string& id, UniqueFd master, UniqueFd in, UniqueFd out) override;
  void TaskExited(const std::string& id) override;
  void Stop(const std::string& id) override;

  // Relays not stopped yet (finished ones included, until their task is deleted).
  size_t size() const { return relays_.size(); }

 private:
  boost::asio::io_context& loop_;
  std::chrono::milliseconds grace_;
  std::map<std::string, std::shared_ptr<TerminalRelay>> relays_;
};

}  // namespace podshim::shim::shimv2
