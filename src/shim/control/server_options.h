// The control server's limits (clients, request size and depth, timeouts) as options with their
// defaults, and the options the shim runs with (the test-only environment overrides).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "common/clock.h"
#include "shim/control/control_protocol.h"

namespace podshim::shim::control {

// The connection limits (docs/control-api.md "Many clients" to "A full server makes room";
// docs/decisions.md says why).
inline constexpr std::size_t kMaxControlClients = 128;
// A connection with nothing under way (no request arriving, no exec running, no events stream)
// is closed this long after it connected, or after its last response was queued or written.
inline constexpr std::chrono::seconds kControlIdleTimeout{60};
// A request line must be complete this long after its first byte arrived (a client sending a
// byte a second cannot hold a connection); otherwise bad_request, and the connection is closed.
inline constexpr std::chrono::seconds kControlRequestTimeout{10};

struct ControlServerOptions {
  std::size_t max_request_bytes = kMaxRequestBytes;  // a longer line: too_large, then closed
  std::size_t max_queued_bytes = 8 << 20;  // a client whose unsent output exceeds this is dropped
  // More at once: the oldest idle connection is closed to make room; when none is idle (every
  // one runs an exec or an events stream) the newcomer is refused with `unavailable`.
  std::size_t max_clients = kMaxControlClients;
  std::size_t replay_batch = 256;  // events fetched from the handler at a time
  Clock::Duration idle_timeout = kControlIdleTimeout;
  Clock::Duration request_timeout = kControlRequestTimeout;
  // Where the server reads the time (the event loop's clock); nullptr: a SteadyClock. Its time
  // points must be steady_clock's: the server's timers are asio steady_timers.
  const Clock* clock = nullptr;
  // Peers (SO_PEERCRED uid) allowed to talk to the shim; empty means {0, geteuid()}.
  std::vector<uid_t> allowed_uids;
  // Called as each request line is handled (the shim schedules dropping the pages the request
  // touched, common/page_trim.h); may be empty.
  std::function<void()> on_request;
};

// The shim's options: the defaults above with the event loop's `clock`, and the timeouts
// shortened by the hidden environment variables PODSHIM_CONTROL_IDLE_TIMEOUT_FOR_TEST and
// PODSHIM_CONTROL_REQUEST_TIMEOUT_FOR_TEST (a duration such as "300ms", more than zero and at
// most the default; anything else is ignored), so that integration tests need not wait a minute.
ControlServerOptions ShimControlServerOptions(const Clock* clock);

}  // namespace podshim::shim::control
