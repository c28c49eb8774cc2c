#include "shim/shimv2/terminal_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>

#include "common/quoted.h"

namespace podshim::shim::shimv2 {

namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

namespace {

// Chunks moved in one go before the relay yields to the loop (other tasks, RPCs).
constexpr int kChunksPerTurn = 16;
constexpr size_t kChunk = 16 * 1024;

// A buffer of bytes read and not yet written.
struct Pending {
  std::array<char, kChunk> bytes;
  size_t pos = 0;
  size_t len = 0;
  bool empty() const { return pos == len; }
  void Clear() { pos = len = 0; }
};

// -1 (and errno) unless it moved bytes; retries EINTR.
ssize_t Retry(auto io) {
  ssize_t n;
  do n = io();
  while (n < 0 && errno == EINTR);
  return n;
}

}  // namespace

// One task's relay. Each direction has at most one wait in flight; every handler holds the
// relay, and Close() (Delete, or the end of the output) cancels them.
class TerminalRelay : public std::enable_shared_from_this<TerminalRelay> {
 public:
  explicit TerminalRelay(asio::io_context& loop)
      : master_(loop), in_(loop), out_(loop), grace_(loop) {}

  Status Begin(UniqueFd master, UniqueFd in, UniqueFd out) {
    PODSHIM_TRY(Adopt(master_, std::move(master), "pty master"));
    PODSHIM_TRY(Adopt(in_, std::move(in), "stdin FIFO"));
    PODSHIM_TRY(Adopt(out_, std::move(out), "stdout FIFO"));
    PumpOutput();
    // Waits first: a FIFO whose writer has not opened it yet reads as EOF, but polls as not
    // ready until a writer has come (and then gone: that EOF is real).
    if (in_.is_open()) When(in_, Descriptor::wait_read, &TerminalRelay::PumpInput);
    return Ok();
  }

  void TaskExited(std::chrono::milliseconds grace) {
    if (closed_) return;
    grace_.expires_after(grace);
    grace_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->Close();  // still not drained: the stdout FIFO's reader gets its EOF now
    });
  }

  void Close() {
    closed_ = true;
    boost::system::error_code ignored;
    grace_.cancel();
    master_.close(ignored);
    in_.close(ignored);
    out_.close(ignored);
  }

 private:
  static Status Adopt(Descriptor& d, UniqueFd fd, const char* what) {
    if (!fd) return Ok();
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
      return Error::Errno(errno, std::string("terminal relay: ") + what + ": fcntl");
    }
    boost::system::error_code ec;
    d.assign(fd.get(), ec);
    if (ec) return Error::Errno(ec.value(), std::string("terminal relay: ") + what + ": epoll");
    (void)fd.Release();  // the descriptor owns it now
    return Ok();
  }

  // Runs `next` when `d` is ready for `w`, unless the relay was closed meanwhile.
  void When(Descriptor& d, Descriptor::wait_type w, void (TerminalRelay::*next)()) {
    d.async_wait(w, [self = shared_from_this(), next](const boost::system::error_code& ec) {
      if (ec == asio::error::operation_aborted || self->closed_) return;
      ((*self).*next)();  // other errors show in the read or write that follows
    });
  }
  void Yield(void (TerminalRelay::*next)()) {
    asio::post(master_.get_executor(), [self = shared_from_this(), next] {
      if (!self->closed_) ((*self).*next)();
    });
  }

  // master -> stdout FIFO, until the master reads EIO (no slave left) and all is written.
  void PumpOutput() {
    for (int i = 0; i < kChunksPerTurn; ++i) {
      if (!output_.empty()) {
        ssize_t n = out_.is_open() ? Retry([&] {
          return ::write(out_.native_handle(), output_.bytes.data() + output_.pos,
                         output_.len - output_.pos);
        })
                                   : static_cast<ssize_t>(output_.len - output_.pos);
        if (n < 0 && errno == EAGAIN)
          return When(out_, Descriptor::wait_write, &TerminalRelay::PumpOutput);
        if (n < 0) {  // the reader is gone (EPIPE): keep draining the pty, dropping its output
          boost::system::error_code ignored;
          out_.close(ignored);
          output_.Clear();
        } else {
          output_.pos += static_cast<size_t>(n);
        }
        continue;
      }
      if (master_eof_) return Close();  // everything written: the FIFO's reader sees EOF
      ssize_t n = Retry([&] {
        return ::read(master_.native_handle(), output_.bytes.data(), output_.bytes.size());
      });
      if (n < 0 && errno == EAGAIN)
        return When(master_, Descriptor::wait_read, &TerminalRelay::PumpOutput);
      if (n <= 0) {
        master_eof_ = true;  // EIO: the container's side of the pty is closed
      } else {
        output_.pos = 0;
        output_.len = static_cast<size_t>(n);
      }
    }
    Yield(&TerminalRelay::PumpOutput);
  }

  // stdin FIFO -> master. Its EOF (the writer closed it) only ends this direction.
  void PumpInput() {
    for (int i = 0; i < kChunksPerTurn; ++i) {
      if (!input_.empty()) {
        ssize_t n = Retry([&] {
          return ::write(master_.native_handle(), input_.bytes.data() + input_.pos,
                         input_.len - input_.pos);
        });
        if (n < 0 && errno == EAGAIN)
          return When(master_, Descriptor::wait_write, &TerminalRelay::PumpInput);
        if (n < 0) return EndInput();  // EIO: nobody left to read it
        input_.pos += static_cast<size_t>(n);
        continue;
      }
      if (!in_.is_open()) return;
      ssize_t n = Retry(
          [&] { return ::read(in_.native_handle(), input_.bytes.data(), input_.bytes.size()); });
      if (n < 0 && errno == EAGAIN)
        return When(in_, Descriptor::wait_read, &TerminalRelay::PumpInput);
      if (n <= 0) return EndInput();
      input_.pos = 0;
      input_.len = static_cast<size_t>(n);
    }
    Yield(&TerminalRelay::PumpInput);
  }

  void EndInput() {
    boost::system::error_code ignored;
    in_.close(ignored);
    input_.Clear();
  }

  Descriptor master_, in_, out_;
  asio::steady_timer grace_;
  Pending output_, input_;
  bool master_eof_ = false;
  bool closed_ = false;
};

AsioTerminalRelays::AsioTerminalRelays(asio::io_context& loop, std::chrono::milliseconds grace)
    : loop_(loop), grace_(grace) {}

AsioTerminalRelays::~AsioTerminalRelays() {
  for (auto& [id, relay] : relays_) relay->Close();
}

Status AsioTerminalRelays::Start(const std::string& id, UniqueFd master, UniqueFd in,
                                 UniqueFd out) {
  if (relays_.contains(id)) {
    return Error::Invalid("terminal relay: container " + Quoted(id) + " has one already");
  }
  auto relay = std::make_shared<TerminalRelay>(loop_);
  if (Status begun = relay->Begin(std::move(master), std::move(in), std::move(out)); !begun) {
    relay->Close();
    return begun;
  }
  relays_.emplace(id, std::move(relay));
  return Ok();
}

void AsioTerminalRelays::TaskExited(const std::string& id) {
  if (auto it = relays_.find(id); it != relays_.end()) it->second->TaskExited(grace_);
}

void AsioTerminalRelays::Stop(const std::string& id) {
  auto it = relays_.find(id);
  if (it == relays_.end()) return;
  it->second->Close();
  relays_.erase(it);
}

}  // namespace podshim::shim::shimv2
