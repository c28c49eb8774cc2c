// The control server: a Unix stream socket at <state-dir>/podshim.sock (mode 0600, set on the
// socket before bind so it is never wider), SO_PEERCRED check, one JSON request per line, many
// clients at once on the one io_context thread. A slow, idle or vanished client never stalls the
// loop or locks others out: lines are capped at 1 MiB, write queues are bounded, idle and
// trickling connections time out, and a full server makes room by closing its oldest idle client.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/control/control_handler.h"
#include "shim/control/server_options.h"

namespace podshim::shim::control {

class ControlServer {
 public:
  // The handler and io_context must outlive the server; all work runs on the io_context.
  ControlServer(boost::asio::io_context& io, ControlHandler& handler,
                ControlServerOptions options = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds and listens on `socket_path` (mode 0600) and starts accepting. A stale socket file
  // nobody answers on is replaced; a live one is kConflict. Fails if already listening.
  Status Listen(const std::filesystem::path& socket_path);
  // Listens on `fd`, a socket the shim this one replaced in place left listening at
  // `socket_path` (CheckListeningAt); connections it queued meanwhile are served.
  Status Adopt(UniqueFd fd, const std::filesystem::path& socket_path);
  // The listening socket's fd, -1 when not listening (what an upgrade hands over).
  int listen_fd() const;
  // Stops taking connections (they queue in the kernel until the socket is accepted from
  // again, by this process image or the next) and starts again. Sessions are not touched.
  void PauseAccepting();
  void ResumeAccepting();

  // Serves one connected socket (tests use local::connect_pair); the peer check applies.
  void Serve(boost::asio::local::stream_protocol::socket socket);

  // Called by the event loop after it appended events to events.jsonl, and after PodFinished:
  // following clients fetch what is new (EventsFrom) as their write queues allow.
  void NotifyEvents();

  // Stops accepting, closes every client and removes the socket file. Idempotent.
  void Close();

  std::size_t client_count() const { return sessions_.size(); }
  const std::filesystem::path& socket_path() const { return socket_path_; }

 private:
  class Session;
  friend class Session;
  Status AssignListener(UniqueFd fd, const std::filesystem::path& socket_path);
  void Accept();
  void Remove(uint64_t id);
  // At the client limit: closes the oldest idle connection; false when none is idle.
  bool MakeRoom();

  boost::asio::io_context& io_;
  ControlHandler& handler_;
  ControlServerOptions options_;
  SteadyClock steady_clock_;
  const Clock& clock_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  std::filesystem::path socket_path_;
  bool paused_ = false;
  std::map<uint64_t, std::shared_ptr<Session>> sessions_;
  uint64_t next_session_id_ = 1;
  // Expires with the server: posted work checks it before touching `this`.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace podshim::shim::control
