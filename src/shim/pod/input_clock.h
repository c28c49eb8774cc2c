// InputClock: the clock the Supervisor reads. It shows one reading per supervisor input, set
// before the input is applied: the real clock's while the pod runs, the journal's while a
// recovered shim replays it (journal_replay.h). Every time the supervisor records (event times,
// deadlines, back-off) so comes out the same both times.
#pragma once

#include "common/clock.h"

namespace podshim::shim {

class InputClock final : public Clock {
 public:
  void Set(TimePoint now, std::chrono::system_clock::time_point wall) {
    now_ = now;
    wall_ = wall;
  }
  // Takes the reading of `clock`.
  void SetFrom(const Clock& clock) { Set(clock.Now(), clock.WallNow()); }
  TimePoint Now() const override { return now_; }
  std::chrono::system_clock::time_point WallNow() const override { return wall_; }

 private:
  TimePoint now_{};
  std::chrono::system_clock::time_point wall_{};
};

}  // namespace podshim::shim
