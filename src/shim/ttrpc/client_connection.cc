#include "shim/ttrpc/client_connection.h"

#include <sys/un.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "common/line_log.h"

namespace podshim::shim::ttrpc {

namespace asio = boost::asio;
using Protocol = asio::local::stream_protocol;

ClientConnection::ClientConnection(asio::io_context& io, std::string socket_path)
    : io_(io), socket_path_(std::move(socket_path)), socket_(io) {}

void ClientConnection::Connect() {
  if (socket_path_.empty() || socket_path_.size() >= sizeof(sockaddr_un::sun_path)) {
    // Fail asynchronously, like a refused connection: no caller sees `done` inside Call.
    asio::post(io_, [self = shared_from_this()] {
      self->Fail({Code::kUnavailable, "ttrpc address \"" + self->socket_path_ +
                                          "\" is empty or longer than a unix socket path"});
    });
    return;
  }
  socket_.async_connect(
      Protocol::endpoint(socket_path_),
      [self = shared_from_this()](const boost::system::error_code& ec) { self->OnConnect(ec); });
}

void ClientConnection::OnConnect(const boost::system::error_code& ec) {
  if (closed_) return;
  if (ec) {
    return Fail({Code::kUnavailable, "connect to " + socket_path_ + ": " + ec.message()});
  }
  connected_ = true;
  ReadMore();
  WriteMore();
}

void ClientConnection::Call(const OutgoingCall& call, std::chrono::milliseconds timeout,
                            Responder done) {
  uint32_t stream_id = next_stream_id_;
  next_stream_id_ += 2;
  std::string name = std::string(call.service) + "/" + std::string(call.method);
  OutgoingCall sent = call;
  sent.timeout = timeout;
  Result<std::string> frame = EncodeRequestFrame(stream_id, sent);
  if (!frame) {
    asio::post(io_, [done = std::move(done), message = name + ": " + frame.error().ToString()] {
      done(std::unexpected(RpcError{Code::kResourceExhausted, message}));
    });
    return;
  }
  auto timer = std::make_unique<asio::steady_timer>(io_, timeout);
  timer->async_wait(
      [weak = weak_from_this(), stream_id, timeout](const boost::system::error_code& ec) {
        std::shared_ptr<ClientConnection> self = weak.lock();
        if (self && !ec) self->OnTimeout(stream_id, timeout);
      });
  calls_.emplace(stream_id, PendingCall{std::move(done), std::move(timer), std::move(name)});
  out_.push_back(std::move(*frame));
  WriteMore();
}

void ClientConnection::OnTimeout(uint32_t stream_id, std::chrono::milliseconds timeout) {
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) return;
  std::string message =
      it->second.name + ": no reply within " + std::to_string(timeout.count()) + " ms";
  Finish(stream_id, std::unexpected(RpcError{Code::kDeadlineExceeded, std::move(message)}));
}

void ClientConnection::Finish(uint32_t stream_id, RpcResult result) {
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) return;
  Responder done = std::move(it->second.done);
  calls_.erase(it);  // cancels its timer
  done(std::move(result));
}

void ClientConnection::WriteMore() {
  if (!connected_ || writing_ || closed_ || out_.empty()) return;
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) {
                        return self->Fail({Code::kUnavailable,
                                           "send to " + self->socket_path_ + ": " + ec.message()});
                      }
                      self->out_.pop_front();
                      self->WriteMore();
                    });
}

void ClientConnection::ReadMore() {
  if (closed_) return;
  socket_.async_read_some(asio::buffer(read_buf_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t n) { self->OnRead(ec, n); });
}

void ClientConnection::OnRead(const boost::system::error_code& ec, std::size_t n) {
  if (closed_) return;
  if (ec) {
    std::string why = ec == asio::error::eof ? "closed by the server" : ec.message();
    return Fail({Code::kUnavailable, "ttrpc connection to " + socket_path_ + ": " + why});
  }
  std::string_view data(read_buf_.data(), n);
  std::shared_ptr<ClientConnection> self = shared_from_this();
  while (!data.empty() && !closed_) {
    data.remove_prefix(reader_.Feed(data));
    if (std::optional<Frame> frame = reader_.Take()) HandleFrame(std::move(*frame));
  }
  ReadMore();
}

void ClientConnection::HandleFrame(Frame frame) {
  uint32_t stream_id = frame.header.stream_id;
  if (frame.oversized) {
    return Finish(stream_id,
                  std::unexpected(RpcError{Code::kResourceExhausted,
                                           "reply of " + std::to_string(frame.header.length) +
                                               " bytes exceeds ttrpc's message limit"}));
  }
  if (frame.header.type != static_cast<uint8_t>(FrameType::kResponse)) {
    line_log::Debug("ttrpc client: ignoring a frame of type " + std::to_string(frame.header.type) +
                    " from " + socket_path_);
    return;
  }
  Finish(stream_id, DecodeResponse(frame.payload));
}

void ClientConnection::Fail(const RpcError& why) { Close(true, why); }

void ClientConnection::Close(bool notify, const RpcError& why) {
  if (closed_) return;
  std::shared_ptr<ClientConnection> self = shared_from_this();
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  out_.clear();
  std::map<uint32_t, PendingCall> calls = std::move(calls_);
  calls_.clear();
  if (!notify) return;
  for (auto& [stream_id, call] : calls) {
    call.timer.reset();
    call.done(std::unexpected(RpcError{why.code, call.name + ": " + why.message}));
  }
}

}  // namespace podshim::shim::ttrpc
