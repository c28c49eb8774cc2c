// An asynchronous unary ttrpc client on the shim's io_context: the shim's line to containerd's
// $TTRPC_ADDRESS (events Forward). It connects on the first call and again after the
// connection failed or closed; every call has its own deadline; calls may overlap.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "shim/ttrpc/messages.h"
#include "shim/ttrpc/rpc_call.h"

namespace podshim::shim::ttrpc {

class ClientConnection;

class Client {
 public:
  // `socket_path`: a filesystem AF_UNIX path ("unix://" in front is accepted and dropped).
  Client(boost::asio::io_context& io, std::string socket_path);
  ~Client();  // closes; pending calls are dropped without calling their `done`
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one call; `done` runs exactly once on the io_context, never inside Call, with the
  // reply message or an error: the server's status; DeadlineExceeded when no reply came within
  // `timeout` (sent as the request's timeout_nano too; a late reply is ignored); Unavailable
  // when the socket could not be reached or the connection closed first; ResourceExhausted for
  // a request or reply over ttrpc's 4 MiB limit. The arguments are encoded before Call returns.
  void Call(std::string_view service, std::string_view method, std::string_view payload,
            const Metadata& metadata, std::chrono::milliseconds timeout, Responder done);

  // Closes the connection; its pending calls fail with Unavailable (called from here). The
  // next Call connects again.
  void Close();

  // A connection is made or being made, and has not failed.
  bool connected() const;
  std::size_t pending_calls() const;
  const std::string& socket_path() const { return socket_path_; }

 private:
  boost::asio::io_context& io_;
  std::string socket_path_;
  std::shared_ptr<ClientConnection> connection_;
};

}  // namespace podshim::shim::ttrpc
