// SignalFd: signals delivered as readable data instead of handlers (signalfd(2)). Open() blocks
// the set in the calling thread (pthread_sigmask) and opens a CLOEXEC|NONBLOCK signalfd for it;
// the event loop polls fd() and drains it with ReadBatch(). Standard signals of one kind that
// arrive while one is pending collapse into one: a SIGCHLD means "reap until nothing is left".
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::signals {

// The fields of signalfd_siginfo podshim uses, as plain data.
struct SignalInfo {
  int signo = 0;
  int code = 0;    // si_code: SI_USER, SI_QUEUE, CLD_EXITED, ...
  pid_t pid = 0;   // sender (SI_USER) or child (SIGCHLD)
  uid_t uid = 0;   // sender's real uid
  int status = 0;  // SIGCHLD: exit code or signal number
  bool operator==(const SignalInfo&) const = default;
};

// Adds `signals` to the calling thread's blocked set; returns the mask before the call.
Result<sigset_t> BlockSignals(const std::vector<int>& signals);
// Sets the calling thread's mask to `mask` (e.g. the one BlockSignals returned).
Status RestoreSignalMask(const sigset_t& mask);

class SignalFd {
 public:
  // Blocks `signals` in the calling thread, then opens the signalfd. On failure the mask is
  // restored. A process-wide effect: call it before starting any thread, and give children the
  // saved mask (old_mask()) or an empty one before exec.
  static Result<SignalFd> Open(const std::vector<int>& signals);

  SignalFd(SignalFd&&) = default;
  SignalFd& operator=(SignalFd&&) = default;
  // Closes the fd; the signals stay blocked (call RestoreMask() to undo that).
  ~SignalFd() = default;

  int fd() const { return fd_.get(); }
  // The calling thread's mask before Open().
  const sigset_t& old_mask() const { return old_mask_; }

  // Reads every signal pending now (several per read(2)); empty when none is (EAGAIN).
  // EINTR is retried.
  Result<std::vector<SignalInfo>> ReadBatch();

  // Restores the mask saved by Open() in the calling thread.
  Status RestoreMask() const { return RestoreSignalMask(old_mask_); }

 private:
  SignalFd(UniqueFd fd, sigset_t old_mask) : fd_(std::move(fd)), old_mask_(old_mask) {}

  UniqueFd fd_;
  sigset_t old_mask_;
};

}  // namespace podshim::signals
