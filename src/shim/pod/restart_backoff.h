// CrashLoopBackOff (SEMANTICS 4.2 and 10): the delay before a container that exited is started
// again. 10 s doubling to 300 s (--backoff-initial / --backoff-max), no jitter; the first restart
// already waits the initial delay (podshim does not copy the kubelet's "first restart is
// immediate" bug); reset to the initial delay when the container ran for more than 10 minutes.
// Pure: time points come in as arguments, nothing sleeps.
#pragma once

#include <chrono>
#include <optional>

#include "common/clock.h"
#include "common/result.h"

namespace podshim::shim {

struct BackoffOptions {
  Clock::Duration initial = std::chrono::seconds(10);  // initialCrashLoopBackOff
  Clock::Duration max = std::chrono::seconds(300);     // MaxContainerBackOff
  // kubelet's HasExpiredFunc override: an exit more than this long after the last restart
  // starts the sequence again at `initial`.
  Clock::Duration reset_after = std::chrono::minutes(10);
};

// Checks --backoff-initial / --backoff-max: both must be positive. A maximum below the initial
// delay lowers the initial delay to it (kubelet newCrashLoopBackOff, KEP-5593).
Result<BackoffOptions> MakeBackoffOptions(std::chrono::nanoseconds initial,
                                          std::chrono::nanoseconds max);

// The back-off of one container. Restarts are counted from the container's exit.
class RestartBackoff {
 public:
  using Duration = Clock::Duration;
  using TimePoint = Clock::TimePoint;

  explicit RestartBackoff(BackoffOptions options = {});

  // The container exited at `finished_at` and will be restarted: returns how long after
  // `finished_at` the restart is due, and remembers that restart as the latest one. The first
  // call gives `initial`; each later one doubles it up to `max`, unless `finished_at` is more
  // than `reset_after` past the previous restart, which gives `initial` again.
  Duration NextDelay(TimePoint finished_at);
  // The restart actually happened at `at` (when it is later than planned, e.g. a late timer):
  // the 10-minute reset window is measured from here.
  void Restarted(TimePoint at) { last_restart_ = at; }

  // The delay the last NextDelay returned; nullopt before the first.
  std::optional<Duration> current() const { return delay_; }
  const BackoffOptions& options() const { return options_; }

 private:
  BackoffOptions options_;
  std::optional<Duration> delay_;
  TimePoint last_restart_{};  // the kubelet's entry.lastUpdate
};

}  // namespace podshim::shim
