// Helpers for the ttrpc unit tests: run a test io_context until a condition holds, and a raw
// peer on one end of a socketpair that speaks frames by hand (the server's other end).
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "common/unique_fd.h"
#include "shim/ttrpc/frame.h"
#include "shim/ttrpc/messages.h"

namespace podshim::shim::ttrpc {
// Readable expectations on results: "ok: <bytes>" or "error 5: no such task".
inline void PrintTo(const RpcResult& result, std::ostream* os) {
  if (result) {
    *os << "ok: \"" << *result << "\"";
  } else {
    *os << "error " << static_cast<int>(result.error().code) << ": " << result.error().message;
  }
}
}  // namespace podshim::shim::ttrpc

namespace podshim::shim::ttrpc::testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs handlers until `done()` holds (true) or `limit` passes (false).
inline bool RunUntil(asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    io.restart();
    io.run_one_for(5ms);
  }
  return true;
}

// Runs ready handlers for `d`.
inline void RunFor(asio::io_context& io, std::chrono::milliseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_one_for(1ms);
  }
}

inline std::string RequestFrame(uint32_t stream_id, std::string_view method,
                                std::string_view payload = "", const Metadata* metadata = nullptr) {
  OutgoingCall call{"containerd.task.v2.Task", method, payload, metadata, {}};
  return *EncodeRequestFrame(stream_id, call);
}

// A listening unix socket at `path`, as the shim makes it for Server::Serve.
inline UniqueFd ListenAt(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    ADD_FAILURE() << "listen at " << path << ": " << std::strerror(errno);
    return UniqueFd();
  }
  return fd;
}

// The test's end of a connection; the other end goes to Server::ServeConnection.
class RawPeer {
 public:
  explicit RawPeer(asio::io_context& io) : io_(io) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    fd_.Reset(fds[0]);
    server_end_.Reset(fds[1]);
  }
  asio::local::stream_protocol::socket TakeServerEnd() {
    return asio::local::stream_protocol::socket(io_, asio::local::stream_protocol(),
                                                server_end_.Release());
  }

  // Sends everything, running the io_context while the socket buffer is full.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        io_.restart();
        io_.run_one_for(1ms);
        continue;
      }
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The next frame from the server, or nullopt on EOF or after `limit`.
  std::optional<Frame> ReadFrame(std::chrono::milliseconds limit = 5s) {
    std::optional<Frame> frame;
    RunUntil(
        io_, [&] { return (frame = Poll()).has_value() || eof_; }, limit);
    return frame;
  }

  // The reply a frame carries.
  static RpcResult Reply(const Frame& frame) { return DecodeResponse(frame.payload); }

  // True once the server closed its end (within `limit`).
  bool WaitEof(std::chrono::milliseconds limit = 5s) {
    return RunUntil(
        io_, [&] { return (void)Poll(), eof_; }, limit);
  }

  void Close() { fd_.Reset(); }
  int fd() const { return fd_.get(); }

 private:
  std::optional<Frame> Poll() {
    for (;;) {
      if (std::optional<Frame> frame = Take()) return frame;
      char chunk[65536];
      ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) eof_ = true;
      if (n <= 0) return std::nullopt;
      buffered_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  std::optional<Frame> Take() {
    std::size_t used = reader_.Feed(buffered_);
    buffered_.erase(0, used);
    return reader_.Take();
  }

  asio::io_context& io_;
  UniqueFd fd_;
  UniqueFd server_end_;
  FrameReader reader_;
  std::string buffered_;
  bool eof_ = false;
};

}  // namespace podshim::shim::ttrpc::testing
