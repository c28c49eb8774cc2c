#include "shim/ttrpc/server.h"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <utility>

#include "common/line_log.h"
#include "shim/ttrpc/server_connection.h"

namespace podshim::shim::ttrpc {

namespace asio = boost::asio;
using Protocol = asio::local::stream_protocol;

Server::Server(asio::io_context& io, RpcHandler handler, ServerOptions options)
    : io_(io), handler_(std::move(handler)), options_(options), timer_(io) {}

Server::~Server() {
  on_closed_ = nullptr;
  flushed_ = nullptr;
  std::map<uint64_t, std::shared_ptr<ServerConnection>> connections = std::move(connections_);
  connections_.clear();
  for (auto& [id, connection] : connections) connection->Detach();
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  }
}

Status Server::Serve(UniqueFd listener) {
  if (closed_ || acceptor_) {
    return Error::Domain(ErrorCode::kConflict, closed_ ? "the ttrpc server is closed"
                                                       : "the ttrpc server is already serving");
  }
  int listening = 0;
  socklen_t len = sizeof(listening);
  int domain = 0;
  socklen_t domain_len = sizeof(domain);
  if (::getsockopt(listener.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
      ::getsockopt(listener.get(), SOL_SOCKET, SO_DOMAIN, &domain, &domain_len) != 0 ||
      listening == 0 || domain != AF_UNIX) {
    return Error::Invalid("ttrpc server: fd " + std::to_string(listener.get()) +
                          " is not a listening AF_UNIX socket");
  }
  auto acceptor = std::make_unique<Protocol::acceptor>(io_);
  boost::system::error_code ec;
  acceptor->assign(Protocol(), listener.get(), ec);
  if (ec) return Error(ec, "ttrpc server: take the listening socket");
  (void)listener.Release();  // the acceptor owns it now
  acceptor_ = std::move(acceptor);
  Accept();
  return Ok();
}

void Server::Accept() {
  acceptor_->async_accept([this, alive = std::weak_ptr<int>(alive_)](
                              const boost::system::error_code& ec, Protocol::socket socket) {
    if (alive.expired() || closed_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      ServeConnection(std::move(socket));
      return Accept();
    }
    // EMFILE and the like: try again shortly instead of spinning.
    line_log::Warn("ttrpc: accept failed: " + ec.message());
    timer_.expires_after(std::chrono::milliseconds(100));
    timer_.async_wait([this, alive](const boost::system::error_code& wait_ec) {
      if (!alive.expired() && !wait_ec && !closed_) Accept();
    });
  });
}

void Server::ServeConnection(Protocol::socket socket) {
  if (closed_) return;
  uint64_t id = next_id_++;
  auto connection = std::make_shared<ServerConnection>(id, std::move(socket), handler_, options_,
                                                       [this](uint64_t closed) { Closed(closed); });
  connections_.emplace(id, connection);
  connection->Start();
}

void Server::Closed(uint64_t id) {
  if (connections_.erase(id) == 0) return;
  if (on_closed_) on_closed_(connections_.size());
  if (connections_.empty() && flushed_) FinishFlush();
}

void Server::Close() {
  closed_ = true;
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  }
  timer_.cancel();
  // Each Close calls back Closed(), which erases it: iterate over a copy.
  std::map<uint64_t, std::shared_ptr<ServerConnection>> connections = connections_;
  for (auto& [id, connection] : connections) connection->Close();
  if (flushed_) FinishFlush();
}

void Server::CloseWhenFlushed(std::chrono::milliseconds grace, std::function<void()> done) {
  closed_ = true;
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  }
  flushed_ = std::move(done);
  std::map<uint64_t, std::shared_ptr<ServerConnection>> connections = connections_;
  for (auto& [id, connection] : connections) connection->CloseWhenFlushed();
  if (connections_.empty()) return FinishFlush();
  timer_.cancel();
  timer_.expires_after(grace);
  timer_.async_wait(
      [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (alive.expired() || ec) return;
        line_log::Debug("ttrpc: " + std::to_string(connections_.size()) +
                        " connections still writing after the grace period; closing them");
        Close();
      });
}

void Server::FinishFlush() {
  timer_.cancel();
  if (std::function<void()> done = std::exchange(flushed_, nullptr)) {
    asio::post(io_, [done = std::move(done), alive = std::weak_ptr<int>(alive_)] {
      if (!alive.expired()) done();
    });
  }
}

}  // namespace podshim::shim::ttrpc
