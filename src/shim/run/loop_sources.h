// The event loop's two seams to the kernel, so unit tests can drive the real loop: where the
// shim's signals and its children's exits come from (SignalSource: a signalfd and waitid), and
// the wake-up at the supervisor's next deadline (WakeTimer: a steady_timer). The fakes are in
// tests/fixtures/fakes/fake_loop_sources.h.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "signals/exit_event.h"
#include "signals/signal_fd.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace podshim::shim {

class SignalSource {
 public:
  virtual ~SignalSource() = default;
  // Called once, first: blocks SIGCHLD/SIGTERM/SIGINT into a signalfd and makes the shim the
  // child subreaper.
  virtual Status Open() = 0;
  // `ready` is called once, later, on the loop's thread, when signals can be read.
  virtual void AsyncWait(std::function<void()> ready) = 0;
  // Every signal pending now.
  virtual Result<std::vector<signals::SignalInfo>> ReadBatch() = 0;
  // Every child that has exited (the loop calls it for each batch holding a SIGCHLD).
  virtual Result<std::vector<signals::ExitEvent>> ReapAll() = 0;
};

class WakeTimer {
 public:
  virtual ~WakeTimer() = default;
  // `fire` is called once, on the loop's thread, at `deadline` (a time of the loop's Clock),
  // unless the timer is re-armed or cancelled first.
  virtual void ArmAt(Clock::TimePoint deadline, std::function<void()> fire) = 0;
  virtual void Cancel() = 0;
};

// The real ones, on the loop's io_context.
std::unique_ptr<SignalSource> MakeSignalFdSource(boost::asio::io_context& io);
std::unique_ptr<WakeTimer> MakeSteadyWakeTimer(boost::asio::io_context& io);

}  // namespace podshim::shim
