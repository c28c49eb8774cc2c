// The shim's side of the pod keeper (docs/decisions.md, "The pod keeper"), the process that
// outlives a shim killed by a signal: it holds every container's output pipes (so a container
// writing while no shim is alive does not die of SIGPIPE) and reaps the orphans (writing their
// exits to <state-dir>/orphan-exits). PodKeeper is what the event loop sees (EventLoopConfig).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/keeper/keeper_protocol.h"

namespace podshim::shim {

class PodKeeper {
 public:
  virtual ~PodKeeper() = default;
  // Gives the keeper a copy of `read_end`, the read end of the pipe `key`. Never blocks; a
  // keeper that cannot take it (gone, or its socket full) is logged, and the launch goes on.
  virtual void Hold(const keeper::PipeKey& key, int read_end) = 0;
};

// A pipe read end a keeper held for a dead shim.
struct HeldPipe {
  keeper::PipeKey key;
  UniqueFd fd;
};

// A connection to a keeper: the socket `podshim start` inherits from its keeper, or
// <state-dir>/keeper.sock of a dead shim's keeper.
class KeeperConnection final : public PodKeeper {
 public:
  explicit KeeperConnection(UniqueFd sock) : sock_(std::move(sock)) {}
  // Connects to the keeper listening on `path`; ENOENT or ECONNREFUSED when none does.
  static Result<KeeperConnection> Connect(const std::filesystem::path& path);

  // Asks for every fd the keeper holds ("take") and reads them all; the keeper then takes this
  // connection for its shim's. Fails after `timeout` without the whole answer.
  Result<std::vector<HeldPipe>> Take(std::chrono::milliseconds timeout);

  void Hold(const keeper::PipeKey& key, int read_end) override;
  int fd() const { return sock_.get(); }

 private:
  UniqueFd sock_;
  bool failed_ = false;  // a send failed: logged once
};

}  // namespace podshim::shim
