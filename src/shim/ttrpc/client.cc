#include "shim/ttrpc/client.h"

#include <utility>

#include "shim/ttrpc/client_connection.h"

namespace podshim::shim::ttrpc {
namespace {

std::string WithoutScheme(std::string_view path) {
  constexpr std::string_view kScheme = "unix://";
  if (path.substr(0, kScheme.size()) == kScheme) path.remove_prefix(kScheme.size());
  return std::string(path);
}

}  // namespace

Client::Client(boost::asio::io_context& io, std::string socket_path)
    : io_(io), socket_path_(WithoutScheme(socket_path)) {}

Client::~Client() {
  if (connection_) connection_->Close(false, {});
}

void Client::Call(std::string_view service, std::string_view method, std::string_view payload,
                  const Metadata& metadata, std::chrono::milliseconds timeout, Responder done) {
  if (!connection_ || connection_->closed()) {
    connection_ = std::make_shared<ClientConnection>(io_, socket_path_);
    connection_->Connect();
  }
  OutgoingCall call{service, method, payload, &metadata, timeout};
  connection_->Call(call, timeout, std::move(done));
}

void Client::Close() {
  if (!connection_) return;
  std::shared_ptr<ClientConnection> connection = std::move(connection_);
  connection->Close(true, {Code::kUnavailable, "the client closed the connection"});
}

bool Client::connected() const { return connection_ && !connection_->closed(); }

std::size_t Client::pending_calls() const { return connection_ ? connection_->pending_calls() : 0; }

}  // namespace podshim::shim::ttrpc
