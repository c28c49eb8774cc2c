#include "shim/ttrpc/server_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/line_log.h"
#include "shim/ttrpc/messages.h"

namespace podshim::shim::ttrpc {

namespace asio = boost::asio;

ServerConnection::ServerConnection(uint64_t id, Socket socket, const RpcHandler& handler,
                                   const ServerOptions& options, ClosedFn on_closed)
    : id_(id),
      socket_(std::move(socket)),
      handler_(&handler),
      options_(&options),
      on_closed_(std::move(on_closed)) {}

void ServerConnection::Start() {
  if (!PeerAllowed()) return Close();
  ReadMore();
}

bool ServerConnection::PeerAllowed() {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    line_log::Warn(std::string("ttrpc: closing a connection whose peer is unknown (SO_PEERCRED: ") +
                   std::strerror(errno) + ")");
    return false;
  }
  uid_t allowed = options_->allowed_uid.value_or(::geteuid());
  if (cred.uid != allowed) {
    line_log::Warn("ttrpc: closing a connection from uid " + std::to_string(cred.uid) + " (pid " +
                   std::to_string(cred.pid) + "); only uid " + std::to_string(allowed) +
                   " may call");
    return false;
  }
  return true;
}

void ServerConnection::Close() {
  if (closed_) return;
  std::shared_ptr<ServerConnection> self = shared_from_this();
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);  // pending reads and writes complete with operation_aborted
  in_flight_.clear();
  out_.clear();
  queued_bytes_ = 0;
  unread_ = {};
  reader_ = FrameReader();
  if (ClosedFn on_closed = std::exchange(on_closed_, nullptr)) on_closed(id_);
}

void ServerConnection::CloseWhenFlushed() {
  flushing_ = true;
  if (out_.empty()) Close();
}

void ServerConnection::Detach() {
  on_closed_ = nullptr;
  handler_ = nullptr;
  Close();
}

bool ServerConnection::Paused() const {
  return in_flight_.size() + out_.size() >= options_->max_pending_calls ||
         queued_bytes_ >= options_->max_queued_bytes;
}

void ServerConnection::ReadMore() {
  if (reading_ || closed_ || flushing_ || !unread_.empty() || Paused()) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(read_buf_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t n) { self->OnRead(ec, n); });
}

void ServerConnection::OnRead(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (closed_ || flushing_) return;
  if (ec) {
    // ttrpc clients never half-close: the end of input is the end of the connection.
    if (ec != asio::error::eof) {
      line_log::Debug("ttrpc: connection " + std::to_string(id_) + " read failed: " + ec.message());
    } else if (!reader_.idle()) {
      line_log::Debug("ttrpc: connection " + std::to_string(id_) +
                      " closed by the peer in the middle of a frame");
    }
    return Close();
  }
  unread_ = std::string_view(read_buf_.data(), n);
  ProcessInput();
}

// Feeds received bytes to the reader frame by frame until they run out (then reads more) or the
// connection pauses (then the next written answer resumes it).
void ServerConnection::ProcessInput() {
  if (processing_) return;  // a handler answering synchronously must not recurse in here
  processing_ = true;
  while (!unread_.empty() && !closed_ && !flushing_ && !Paused()) {
    std::size_t n = reader_.Feed(unread_);
    unread_.remove_prefix(n);
    if (std::optional<Frame> frame = reader_.Take()) HandleFrame(std::move(*frame));
  }
  processing_ = false;
  ReadMore();
}

// ttrpc 1.1's server loop (server.go): oversized -> ResourceExhausted, a frame of another type
// is ignored (for compatibility with newer clients), a payload that is not a Request ->
// InvalidArgument, an even stream id -> InvalidArgument.
void ServerConnection::HandleFrame(Frame frame) {
  uint32_t stream_id = frame.header.stream_id;
  if (frame.oversized) {
    return Refuse(stream_id, Code::kResourceExhausted,
                  "message length " + std::to_string(frame.header.length) +
                      " exceed maximum message size of " + std::to_string(kMaxFramePayload));
  }
  if (frame.header.type != static_cast<uint8_t>(FrameType::kRequest)) {
    line_log::Debug("ttrpc: connection " + std::to_string(id_) + " ignores a frame of type " +
                    std::to_string(frame.header.type) + " (stream " + std::to_string(stream_id) +
                    ")");
    return;
  }
  Result<RpcCall> call = DecodeRequest(frame.payload);
  frame.payload = {};
  if (!call) {
    return Refuse(stream_id, Code::kInvalidArgument,
                  "unmarshal request error: " + call.error().ToString());
  }
  if (stream_id % 2 != 1) {
    return Refuse(stream_id, Code::kInvalidArgument,
                  "StreamID must be odd for client initiated streams");
  }
  if (in_flight_.contains(stream_id)) {
    return Refuse(stream_id, Code::kInvalidArgument,
                  "stream id " + std::to_string(stream_id) + " is already in use");
  }
  Dispatch(stream_id, std::move(*call));
}

void ServerConnection::Dispatch(uint32_t stream_id, RpcCall call) {
  in_flight_.insert(stream_id);
  Responder respond = [weak = weak_from_this(), stream_id](RpcResult result) {
    if (std::shared_ptr<ServerConnection> self = weak.lock()) {
      self->Answer(stream_id, std::move(result));
    }
  };
  if (handler_ == nullptr || !*handler_) {
    return respond(std::unexpected(RpcError{Code::kUnavailable, "the ttrpc server is closing"}));
  }
  (*handler_)(std::move(call), std::move(respond));
}

void ServerConnection::Answer(uint32_t stream_id, RpcResult result) {
  if (closed_) return;
  if (in_flight_.erase(stream_id) == 0) {
    line_log::Debug("ttrpc: connection " + std::to_string(id_) +
                    " dropped a second answer for stream " + std::to_string(stream_id));
    return;
  }
  Enqueue(EncodeResponseFrame(stream_id, result));
}

void ServerConnection::Refuse(uint32_t stream_id, Code code, std::string message) {
  line_log::Debug("ttrpc: connection " + std::to_string(id_) + " refuses stream " +
                  std::to_string(stream_id) + ": " + message);
  Enqueue(EncodeResponseFrame(stream_id, std::unexpected(RpcError{code, std::move(message)})));
}

void ServerConnection::Enqueue(std::string frame) {
  queued_bytes_ += frame.size();
  out_.push_back(std::move(frame));
  WriteMore();
}

void ServerConnection::WriteMore() {
  if (writing_ || closed_ || out_.empty()) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->OnWrite(ec);
                    });
}

void ServerConnection::OnWrite(const boost::system::error_code& ec) {
  writing_ = false;
  if (closed_) return;
  if (ec) {
    line_log::Debug("ttrpc: connection " + std::to_string(id_) + " write failed: " + ec.message());
    return Close();
  }
  queued_bytes_ -= out_.front().size();
  out_.pop_front();
  if (flushing_ && out_.empty()) return Close();
  WriteMore();
  ProcessInput();  // resumes a connection paused at its limits
}

}  // namespace podshim::shim::ttrpc
