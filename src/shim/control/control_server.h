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
#include "shim/control/control_handler.h"

namespace podshim::shim::control {

// The connection limits (docs/control-api.md "Many clients" to "A full server makes room";
// docs/decisions.md says why).
inline constexpr std::size_t kMaxControlClients = 128;
// A connection with nothing under way (no request arriving, no exec running, no events stream)
// is closed this long after it connected, or after its last response was queued or written.
inline constexpr std::chrono::seconds kControlIdleTimeout{60};
// A request line must be complete this long after its first byte arrived (a client sending a
// byte a second cannot hold a connection); otherwise bad_request, and the connection is closed.
inline constexpr std::chrono::seconds kControlRequestTimeout{10};

struct ControlServerOptions {
  std::size_t max_request_bytes = kMaxRequestBytes;  // a longer line: too_large, then closed
  std::size_t max_queued_bytes = 8 << 20;  // a client whose unsent output exceeds this is dropped
  // More at once: the oldest idle connection is closed to make room; when none is idle (every
  // one runs an exec or an events stream) the newcomer is refused with `unavailable`.
  std::size_t max_clients = kMaxControlClients;
  std::size_t replay_batch = 256;  // events fetched from the handler at a time
  Clock::Duration idle_timeout = kControlIdleTimeout;
  Clock::Duration request_timeout = kControlRequestTimeout;
  // Where the server reads the time (the event loop's clock); nullptr: a SteadyClock. Its time
  // points must be steady_clock's: the server's timers are asio steady_timers.
  const Clock* clock = nullptr;
  // Peers (SO_PEERCRED uid) allowed to talk to the shim; empty means {0, geteuid()}.
  std::vector<uid_t> allowed_uids;
};

// The shim's options: the defaults above with the event loop's `clock`, and the timeouts
// shortened by the hidden environment variables PODSHIM_CONTROL_IDLE_TIMEOUT_FOR_TEST and
// PODSHIM_CONTROL_REQUEST_TIMEOUT_FOR_TEST (a duration such as "300ms", more than zero and at
// most the default; anything else is ignored), so that integration tests need not wait a minute.
ControlServerOptions ShimControlServerOptions(const Clock* clock);

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
  std::map<uint64_t, std::shared_ptr<Session>> sessions_;
  uint64_t next_session_id_ = 1;
  // Expires with the server: posted work checks it before touching `this`.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace podshim::shim::control
