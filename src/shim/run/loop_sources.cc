#include "shim/run/loop_sources.h"

#include <fcntl.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <utility>

#include "signals/reaper.h"

namespace podshim::shim {
namespace {

class SignalFdSource final : public SignalSource {
 public:
  explicit SignalFdSource(boost::asio::io_context& io) : desc_(io) {}

  Status Open() override {
    sigfd_.emplace(PODSHIM_TRY(signals::SignalFd::Open({SIGCHLD, SIGTERM, SIGINT})));
    PODSHIM_TRY(signals::BecomeSubreaper());
    int dup = ::fcntl(sigfd_->fd(), F_DUPFD_CLOEXEC, 3);
    if (dup < 0) return Error::Errno(errno, "dup signalfd");
    desc_.assign(dup);
    return Ok();
  }

  void AsyncWait(std::function<void()> ready) override {
    desc_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [ready = std::move(ready)](const boost::system::error_code& ec) {
                       if (!ec) ready();
                     });
  }

  Result<std::vector<signals::SignalInfo>> ReadBatch() override { return sigfd_->ReadBatch(); }

  Result<std::vector<signals::ExitEvent>> ReapAll() override { return signals::ReapAll(); }

 private:
  boost::asio::posix::stream_descriptor desc_;
  std::optional<signals::SignalFd> sigfd_;
};

class SteadyWakeTimer final : public WakeTimer {
 public:
  explicit SteadyWakeTimer(boost::asio::io_context& io) : timer_(io) {}

  void ArmAt(Clock::TimePoint deadline, std::function<void()> fire) override {
    timer_.expires_at(deadline);
    timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& ec) {
      if (!ec) fire();  // else re-armed or cancelled
    });
  }

  void Cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

std::unique_ptr<SignalSource> MakeSignalFdSource(boost::asio::io_context& io) {
  return std::make_unique<SignalFdSource>(io);
}

std::unique_ptr<WakeTimer> MakeSteadyWakeTimer(boost::asio::io_context& io) {
  return std::make_unique<SteadyWakeTimer>(io);
}

}  // namespace podshim::shim
