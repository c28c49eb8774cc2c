// ArmDeadline: the one way the shim's components arm their steady_timer for the next deadline of
// a pure state machine (probes, hooks). nullopt cancels the timer; the callback runs on expiry
// unless the timer was re-armed or cancelled meanwhile, or its owner is gone (`alive` expired).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <utility>

#include "common/clock.h"

namespace podshim::shim {

template <class Fire>
void ArmDeadline(boost::asio::steady_timer& timer, std::optional<Clock::TimePoint> deadline,
                 std::weak_ptr<int> alive, Fire fire) {
  if (!deadline) {
    timer.cancel();
    return;
  }
  timer.expires_at(*deadline);
  timer.async_wait([alive = std::move(alive),
                    fire = std::move(fire)](const boost::system::error_code& ec) mutable {
    if (ec || alive.expired()) return;
    fire();
  });
}

}  // namespace podshim::shim
