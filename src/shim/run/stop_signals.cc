#include "shim/run/stop_signals.h"

#include <signal.h>

namespace podshim::shim {

void BlockStopSignals() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGTERM);
  ::sigaddset(&set, SIGINT);
  // Cannot fail with a valid `how` and set.
  (void)::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace podshim::shim
