// The ttrpc server containerd's shim v2 protocol speaks (containerd/ttrpc 1.1, unary calls):
// serves a listening AF_UNIX socket on one io_context thread, hands each request to the
// RpcHandler and writes the answers as they complete, so a pending Wait never holds up others.
// Peers must share the server's uid; each connection's unanswered calls are capped.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/ttrpc/rpc_call.h"
#include "shim/ttrpc/server_options.h"

namespace podshim::shim::ttrpc {

class ServerConnection;

class Server {
 public:
  // The io_context must outlive the server. The handler runs on the io_context's thread; it
  // may answer at once or later, and may close the server.
  Server(boost::asio::io_context& io, RpcHandler handler, ServerOptions options = {});
  ~Server();  // closes everything, without calling OnConnectionClosed's callback
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts accepting on `listener`, a bound and listening AF_UNIX stream socket (the shim
  // binds it itself). kInvalidSpec for an fd that is not a listening socket, kConflict when
  // already serving or closed.
  Status Serve(UniqueFd listener);

  // Serves one connected socket (tests use local::connect_pair); the peer check applies.
  void ServeConnection(boost::asio::local::stream_protocol::socket socket);

  // Stops accepting and closes every connection now: unanswered calls are forgotten (their
  // Responders do nothing; containerd reads a closed connection as Shutdown's success).
  // Idempotent.
  void Close();

  // Stops accepting and reading; each connection closes once the answers queued so far are
  // written (a Shutdown reply), at most after `grace`; then `done` runs on the io_context
  // (not if the server is destroyed first). Call it once.
  void CloseWhenFlushed(std::chrono::milliseconds grace, std::function<void()> done);

  std::size_t connection_count() const { return connections_.size(); }

  // Runs after each connection closes (peer gone, refused, or closed by the server), with the
  // number still open. Not called from the destructor.
  void OnConnectionClosed(std::function<void(std::size_t open)> callback) {
    on_closed_ = std::move(callback);
  }

 private:
  void Accept();
  void Closed(uint64_t id);
  void FinishFlush();

  boost::asio::io_context& io_;
  RpcHandler handler_;
  ServerOptions options_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  boost::asio::steady_timer timer_;  // accept retry after an error; CloseWhenFlushed's grace
  std::map<uint64_t, std::shared_ptr<ServerConnection>> connections_;
  uint64_t next_id_ = 1;
  bool closed_ = false;
  std::function<void(std::size_t)> on_closed_;
  std::function<void()> flushed_;  // CloseWhenFlushed's `done`, until it runs
  // Expires with the server: accept completions check it before touching `this`.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace podshim::shim::ttrpc
