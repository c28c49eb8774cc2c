#include "shim/control/server_options.h"

#include <cstdlib>

#include "common/duration.h"

namespace podshim::shim::control {

ControlServerOptions ShimControlServerOptions(const Clock* clock) {
  ControlServerOptions options;
  options.clock = clock;
  auto shorten = [](const char* name, Clock::Duration& value) {
    const char* text = std::getenv(name);
    if (text == nullptr) return;
    Result<std::chrono::nanoseconds> d = ParseDuration(text);
    if (d && *d > std::chrono::nanoseconds::zero() && *d <= value) {
      value = std::chrono::duration_cast<Clock::Duration>(*d);
    }
  };
  shorten("PODSHIM_CONTROL_IDLE_TIMEOUT_FOR_TEST", options.idle_timeout);
  shorten("PODSHIM_CONTROL_REQUEST_TIMEOUT_FOR_TEST", options.request_timeout);
  return options;
}

}  // namespace podshim::shim::control
