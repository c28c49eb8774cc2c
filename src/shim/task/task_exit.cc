#include "shim/task/task_exit.h"

namespace podshim::shim::task {

void SetTimestamp(WallTime t, podshim::wire::Timestamp* out) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  out->set_seconds(ns / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

}  // namespace podshim::shim::task
