// The control server's listening side: a socket bound afresh or handed over by the shim image
// this one replaced (ctl upgrade), the accept loop, and the pause an upgrade puts on it so that
// connections made meanwhile are answered by the new image.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "shim/control/control_server.h"
#include "shim/control/unix_listener.h"

namespace podshim::shim::control {

namespace asio = boost::asio;

Status ControlServer::Listen(const std::filesystem::path& socket_path) {
  if (acceptor_)
    return Error::Domain(podshim::ErrorCode::kConflict, "control server is already listening");
  return AssignListener(PODSHIM_TRY(ListenUnixSocket(socket_path, 0600)), socket_path);
}

Status ControlServer::Adopt(UniqueFd fd, const std::filesystem::path& socket_path) {
  if (acceptor_)
    return Error::Domain(podshim::ErrorCode::kConflict, "control server is already listening");
  PODSHIM_TRY(CheckListeningAt(fd.get(), socket_path));
  return AssignListener(std::move(fd), socket_path);
}

Status ControlServer::AssignListener(UniqueFd fd, const std::filesystem::path& socket_path) {
  auto acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(io_);
  boost::system::error_code ec;
  acceptor->assign(asio::local::stream_protocol(), fd.get(), ec);
  if (ec) {
    ::unlink(socket_path.c_str());
    return Error::Errno(ec.value(), "assign control socket");
  }
  (void)fd.Release();
  acceptor_ = std::move(acceptor);
  socket_path_ = socket_path;
  Accept();
  return Ok();
}

int ControlServer::listen_fd() const { return acceptor_ ? acceptor_->native_handle() : -1; }

void ControlServer::PauseAccepting() {
  if (!acceptor_ || paused_) return;
  paused_ = true;
  boost::system::error_code ignored;
  acceptor_->cancel(ignored);
}

void ControlServer::ResumeAccepting() {
  if (!acceptor_ || !paused_) return;
  paused_ = false;
  Accept();
}

void ControlServer::Accept() {
  acceptor_->async_accept(
      [this](const boost::system::error_code& ec, asio::local::stream_protocol::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_ || paused_) return;
        if (ec) {
          // EMFILE and friends: the pending connection stays queued; try again on the next turn
          // of the loop rather than spinning inside this handler.
          spdlog::warn("control: accept: {}", ec.message());
          asio::post(io_, [this, alive = std::weak_ptr<int>(alive_)] {
            if (!alive.expired() && acceptor_ && !paused_) Accept();
          });
          return;
        }
        Serve(std::move(socket));
        Accept();
      });
}

}  // namespace podshim::shim::control
