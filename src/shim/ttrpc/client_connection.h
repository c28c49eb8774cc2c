// One client-side ttrpc connection: connects, numbers calls 1, 3, 5 ..., writes them in order,
// matches replies to calls by stream id and fails what is left when it closes. Client makes a
// new one after a connection ended; async operations and call timers share or watch it.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "shim/ttrpc/frame.h"
#include "shim/ttrpc/messages.h"
#include "shim/ttrpc/rpc_call.h"

namespace podshim::shim::ttrpc {

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(boost::asio::io_context& io, std::string socket_path);

  // Starts connecting; calls queue until the connection is made.
  void Connect();
  // Queues one call (see Client::Call).
  void Call(const OutgoingCall& call, std::chrono::milliseconds timeout, Responder done);
  // Closes; with `notify`, pending calls fail with `why`, else they are dropped silently.
  void Close(bool notify, const RpcError& why);

  bool closed() const { return closed_; }
  std::size_t pending_calls() const { return calls_.size(); }

 private:
  struct PendingCall {
    Responder done;
    std::unique_ptr<boost::asio::steady_timer> timer;
    std::string name;  // "service/method", for messages
  };

  void OnConnect(const boost::system::error_code& ec);
  void ReadMore();
  void OnRead(const boost::system::error_code& ec, std::size_t n);
  void HandleFrame(Frame frame);
  void WriteMore();
  void OnTimeout(uint32_t stream_id, std::chrono::milliseconds timeout);
  // Removes the call and runs its `done` now.
  void Finish(uint32_t stream_id, RpcResult result);
  void Fail(const RpcError& why);

  boost::asio::io_context& io_;
  std::string socket_path_;
  boost::asio::local::stream_protocol::socket socket_;
  FrameReader reader_;
  std::array<char, 4096> read_buf_;  // not zeroed: pages are touched only as data comes
  std::deque<std::string> out_;  // request frames; the front one is being written once connected
  std::map<uint32_t, PendingCall> calls_;
  uint32_t next_stream_id_ = 1;
  bool connected_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace podshim::shim::ttrpc
