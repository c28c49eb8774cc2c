// The shim's stdin pumps on its Asio loop: stdin FIFO -> the process's stdin pipe, non-blocking,
// through one 64 KiB buffer (nothing more is read until it is written). The FIFO's EOF (after
// CloseIO and the client's close) closes the pipe once the buffer is written: the process reads
// EOF. A process gone (EPIPE) ends the pump.
#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <string>

#include "shim/task/stdin_pumps.h"

namespace podshim::shim::shimv2 {

class StdinPump;

class AsioStdinPumps final : public task::StdinPumps {
 public:
  explicit AsioStdinPumps(boost::asio::io_context& loop);
  ~AsioStdinPumps() override;

  Status Start(const std::string& key, UniqueFd fifo, UniqueFd pipe) override;
  void Stop(const std::string& key) override;

  // Pumps not stopped yet (finished ones included, until their process is deleted).
  size_t size() const { return pumps_.size(); }

 private:
  boost::asio::io_context& loop_;
  std::map<std::string, std::shared_ptr<StdinPump>> pumps_;
};

}  // namespace podshim::shim::shimv2
