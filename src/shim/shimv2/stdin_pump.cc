#include "shim/shimv2/stdin_pump.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>

#include "common/quoted.h"

namespace podshim::shim::shimv2 {

namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

namespace {

constexpr size_t kBuffer = 64 * 1024;  // the most a pump holds
constexpr int kChunksPerTurn = 16;     // moved before yielding to the loop

ssize_t Retry(auto io) {
  ssize_t n;
  do n = io();
  while (n < 0 && errno == EINTR);
  return n;
}

Status Adopt(Descriptor& d, UniqueFd fd, const char* what) {
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return Error::Errno(errno, std::string("stdin pump: ") + what + ": fcntl");
  }
  boost::system::error_code ec;
  d.assign(fd.get(), ec);
  if (ec) return Error::Errno(ec.value(), std::string("stdin pump: ") + what + ": epoll");
  (void)fd.Release();  // the descriptor owns it now
  return Ok();
}

}  // namespace

// One process's pump: at most one wait in flight; every handler holds the pump, Close()
// cancels them.
class StdinPump : public std::enable_shared_from_this<StdinPump> {
 public:
  explicit StdinPump(asio::io_context& loop) : fifo_(loop), pipe_(loop) {}

  Status Begin(UniqueFd fifo, UniqueFd pipe) {
    if (!fifo || !pipe) return Error::Invalid("stdin pump: needs the FIFO and the pipe");
    PODSHIM_TRY(Adopt(fifo_, std::move(fifo), "stdin FIFO"));
    PODSHIM_TRY(Adopt(pipe_, std::move(pipe), "stdin pipe"));
    When(fifo_, Descriptor::wait_read);
    return Ok();
  }

  void Close() {
    closed_ = true;
    boost::system::error_code ignored;
    fifo_.close(ignored);
    pipe_.close(ignored);
  }

 private:
  void When(Descriptor& d, Descriptor::wait_type w) {
    d.async_wait(w, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec == asio::error::operation_aborted || self->closed_) return;
      self->Pump();  // other errors show in the read or write that follows
    });
  }

  void Pump() {
    for (int i = 0; i < kChunksPerTurn; ++i) {
      if (pos_ < len_) {
        ssize_t n = Retry(
            [&] { return ::write(pipe_.native_handle(), buffer_.data() + pos_, len_ - pos_); });
        if (n < 0 && errno == EAGAIN) return When(pipe_, Descriptor::wait_write);
        if (n < 0) return Close();  // EPIPE: the process closed its stdin or is gone
        pos_ += static_cast<size_t>(n);
        continue;
      }
      ssize_t n = Retry([&] { return ::read(fifo_.native_handle(), buffer_.data(), kBuffer); });
      if (n < 0 && errno == EAGAIN) return When(fifo_, Descriptor::wait_read);
      if (n <= 0) return Close();  // EOF, all written: the process reads EOF
      pos_ = 0;
      len_ = static_cast<size_t>(n);
    }
    asio::post(fifo_.get_executor(), [self = shared_from_this()] {
      if (!self->closed_) self->Pump();
    });
  }

  Descriptor fifo_, pipe_;
  std::array<char, kBuffer> buffer_;
  size_t pos_ = 0, len_ = 0;
  bool closed_ = false;
};

AsioStdinPumps::AsioStdinPumps(asio::io_context& loop) : loop_(loop) {}

AsioStdinPumps::~AsioStdinPumps() {
  for (auto& [key, pump] : pumps_) pump->Close();
}

Status AsioStdinPumps::Start(const std::string& key, UniqueFd fifo, UniqueFd pipe) {
  if (pumps_.contains(key)) {
    return Error::Invalid("stdin pump: process " + Quoted(key) + " has one already");
  }
  auto pump = std::make_shared<StdinPump>(loop_);
  if (Status begun = pump->Begin(std::move(fifo), std::move(pipe)); !begun) {
    pump->Close();
    return begun;
  }
  pumps_.emplace(key, std::move(pump));
  return Ok();
}

void AsioStdinPumps::Stop(const std::string& key) {
  auto it = pumps_.find(key);
  if (it == pumps_.end()) return;
  it->second->Close();
  pumps_.erase(it);
}

}  // namespace podshim::shim::shimv2
