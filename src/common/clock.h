// Clock: where podshim's logic gets the time. Pure state machines take a const Clock& and
// never sleep; SteadyClock is the real one, FakeClock (tests/fixtures) the simulated one.
#pragma once

#include <chrono>

namespace podshim {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Wall-clock time, for timestamps shown to users (events, logs, status).
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace podshim
