#include "shim/run/log_pump.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace podshim::shim {
namespace {

// One read buffer for every pump of the thread: a read's bytes are split into records and
// written before the next read, so pumps never share it at the same time. (A buffer per pump was
// 16 KiB of resident heap per container stream.)
std::array<char, 16 * 1024>& ReadBuffer() {
  thread_local std::array<char, 16 * 1024> buffer;
  return buffer;
}

}  // namespace

LogPump::LogPump(boost::asio::io_context& io, UniqueFd pipe, LogStream stream,
                 std::shared_ptr<CriLogFile> file, const Clock& clock)
    : pipe_(io), stream_(stream), file_(std::move(file)), clock_(&clock) {
  int fd = pipe.Release();
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  pipe_.assign(fd);
}

void LogPump::Start() { Arm(); }

void LogPump::Arm() {
  if (done_) return;
  pipe_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this](const boost::system::error_code& ec) {
                     if (ec) return;  // cancelled: the pump is being closed
                     OnReadable();
                   });
}

void LogPump::OnReadable() {
  if (ReadSome()) {
    Arm();
  } else {
    Close();
  }
}

bool LogPump::ReadSome() {
  std::array<char, 16 * 1024>& buf = ReadBuffer();
  ssize_t n;
  do {
    n = ::read(pipe_.native_handle(), buf.data(), buf.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
  if (n <= 0) return false;
  auto records = splitter_.Feed(std::string_view(buf.data(), static_cast<size_t>(n)));
  file_->AppendOrDrop(clock_->WallNow(), stream_, records);
  return true;
}

void LogPump::Drain() {
  ReadAvailable();
  Close();
}

void LogPump::ReadAvailable() {
  if (done_) return;
  std::array<char, 16 * 1024>& buf = ReadBuffer();
  for (;;) {
    ssize_t n;
    do {
      n = ::read(pipe_.native_handle(), buf.data(), buf.size());
    } while (n < 0 && errno == EINTR);
    if (n <= 0) break;
    auto records = splitter_.Feed(std::string_view(buf.data(), static_cast<size_t>(n)));
    file_->AppendOrDrop(clock_->WallNow(), stream_, records);
  }
}

void LogPump::Close() {
  if (done_) return;
  done_ = true;
  file_->AppendOrDrop(clock_->WallNow(), stream_, splitter_.Finish());
  // The log file is closed with the instance's last pump (one fd per ended container instance
  // stayed open until the next start otherwise, and for ever in a pod of many containers).
  file_.reset();
  boost::system::error_code ignored;
  pipe_.cancel(ignored);
  pipe_.close(ignored);
}

}  // namespace podshim::shim
