// One ttrpc connection on the server side: the peer check, frames in, calls to the handler,
// answers out through a write queue in the order they complete. Reading pauses at the pending
// limits. The server owns it; async operations share it; Responders hold it weakly.
#pragma once

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "shim/ttrpc/frame.h"
#include "shim/ttrpc/rpc_call.h"
#include "shim/ttrpc/server_options.h"

namespace podshim::shim::ttrpc {

class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;
  using ClosedFn = std::function<void(uint64_t id)>;

  // `handler` and `options` must stay valid until Detach() or the connection closed.
  ServerConnection(uint64_t id, Socket socket, const RpcHandler& handler,
                   const ServerOptions& options, ClosedFn on_closed);

  // Checks the peer's uid (closing on a stranger), then reads.
  void Start();
  // Closes at once; calls still unanswered are forgotten, their Responders do nothing.
  // Runs on_closed once. Idempotent.
  void Close();
  // Stops reading; closes once the answers queued so far are written.
  void CloseWhenFlushed();
  // The server is going away: closes without calling back into it.
  void Detach();

  bool closed() const { return closed_; }

 private:
  bool PeerAllowed();
  void ReadMore();
  void OnRead(const boost::system::error_code& ec, std::size_t n);
  void ProcessInput();
  bool Paused() const;
  void HandleFrame(Frame frame);
  void Dispatch(uint32_t stream_id, RpcCall call);
  void Answer(uint32_t stream_id, RpcResult result);
  void Refuse(uint32_t stream_id, Code code, std::string message);
  void Enqueue(std::string frame);
  void WriteMore();
  void OnWrite(const boost::system::error_code& ec);

  uint64_t id_;
  Socket socket_;
  const RpcHandler* handler_;
  const ServerOptions* options_;
  ClosedFn on_closed_;
  FrameReader reader_;
  std::array<char, 4096> read_buf_;  // not zeroed: pages are touched only as data comes
  std::string_view unread_;  // received bytes not yet fed to reader_ (a view into read_buf_)
  std::unordered_set<uint32_t> in_flight_;  // stream ids handed to the handler, unanswered
  std::deque<std::string> out_;             // answer frames; the front one is being written
  std::size_t queued_bytes_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool processing_ = false;
  bool flushing_ = false;
  bool closed_ = false;
};

}  // namespace podshim::shim::ttrpc
