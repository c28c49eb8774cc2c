#include "shim/pod/restart_backoff.h"

#include <algorithm>
#include <string>

#include "common/duration.h"

namespace podshim::shim {

Result<BackoffOptions> MakeBackoffOptions(std::chrono::nanoseconds initial,
                                          std::chrono::nanoseconds max) {
  if (initial <= std::chrono::nanoseconds::zero()) {
    return Error::Invalid("--backoff-initial must be positive, got " + FormatDuration(initial));
  }
  if (max <= std::chrono::nanoseconds::zero()) {
    return Error::Invalid("--backoff-max must be positive, got " + FormatDuration(max));
  }
  BackoffOptions options;
  options.max = std::chrono::duration_cast<Clock::Duration>(max);
  options.initial = std::min(std::chrono::duration_cast<Clock::Duration>(initial), options.max);
  return options;
}

RestartBackoff::RestartBackoff(BackoffOptions options) : options_(options) {}

RestartBackoff::Duration RestartBackoff::NextDelay(TimePoint finished_at) {
  // flowcontrol.Backoff.Next with the kubelet's expiry rule: eventTime - lastUpdate > 600 s.
  const bool expired = delay_ && finished_at - last_restart_ > options_.reset_after;
  if (!delay_ || expired) {
    delay_ = options_.initial;
  } else {
    delay_ = std::min(*delay_ * 2, options_.max);
  }
  last_restart_ = finished_at + *delay_;
  return *delay_;
}

}  // namespace podshim::shim
