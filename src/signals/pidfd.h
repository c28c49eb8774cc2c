// Signalling and waiting on one process through its pidfd (pidfd_send_signal, Linux 5.1;
// waitid(P_PIDFD), Linux 5.4), so a recycled pid is never hit. Signaller is the seam the shim
// calls; tests use a RecordingSignaller (tests/fixtures/fakes/recording_signaller.h).
#pragma once

#include <optional>

#include "common/process_handle.h"
#include "common/result.h"
#include "signals/exit_event.h"

namespace podshim::signals {

class Signaller {
 public:
  virtual ~Signaller() = default;
  // Sends `sig` to the process. A process that has already exited (even if not yet reaped) is
  // not an error: Signal() returns Ok and the exit arrives through the reaper as usual.
  virtual Status Signal(const ProcessHandle& process, int sig) = 0;
};

class PidfdSignaller final : public Signaller {
 public:
  // pidfd_send_signal(2). ESRCH -> Ok (see above). A handle without a pidfd is EBADF.
  Status Signal(const ProcessHandle& process, int sig) override;
};

// Waits for the process to exit and reaps it (waitid(P_PIDFD, WEXITED)); EINTR is retried.
// Only for processes no Reaper collects (ReapAll() would take the exit first -> ECHILD).
Result<ExitEvent> WaitPidfd(const ProcessHandle& process);
// The same without blocking: nullopt while the process is still running.
Result<std::optional<ExitEvent>> TryWaitPidfd(const ProcessHandle& process);

}  // namespace podshim::signals
