#include "signals/signal_fd.h"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <utility>

namespace podshim::signals {
namespace {

Result<sigset_t> MakeSet(const std::vector<int>& signals) {
  sigset_t set;
  ::sigemptyset(&set);
  for (int sig : signals) {
    if (::sigaddset(&set, sig) < 0) {
      return Error::Errno(errno, "add signal " + std::to_string(sig) + " to a signal set");
    }
  }
  return set;
}

}  // namespace

Result<sigset_t> BlockSignals(const std::vector<int>& signals) {
  sigset_t set = PODSHIM_TRY(MakeSet(signals));
  sigset_t old;
  // pthread_sigmask returns the error number instead of setting errno.
  if (int err = ::pthread_sigmask(SIG_BLOCK, &set, &old); err != 0) {
    return Error::Errno(err, "block signals");
  }
  return old;
}

Status RestoreSignalMask(const sigset_t& mask) {
  if (int err = ::pthread_sigmask(SIG_SETMASK, &mask, nullptr); err != 0) {
    return Error::Errno(err, "restore signal mask");
  }
  return Ok();
}

Result<SignalFd> SignalFd::Open(const std::vector<int>& signals) {
  sigset_t set = PODSHIM_TRY(MakeSet(signals));
  sigset_t old = PODSHIM_TRY(BlockSignals(signals));
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) {
    Error e = Error::Errno(errno, "signalfd");
    (void)RestoreSignalMask(old);  // best effort; the signalfd error is the one to report
    return e;
  }
  return SignalFd(UniqueFd(fd), old);
}

Result<std::vector<SignalInfo>> SignalFd::ReadBatch() {
  std::vector<SignalInfo> out;
  std::array<signalfd_siginfo, 16> buf;
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf.data(), sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return out;
      return Error::Errno(errno, "read signalfd");
    }
    const size_t count = static_cast<size_t>(n) / sizeof(signalfd_siginfo);
    for (size_t i = 0; i < count; ++i) {
      const signalfd_siginfo& si = buf[i];
      out.push_back({.signo = static_cast<int>(si.ssi_signo),
                     .code = si.ssi_code,
                     .pid = static_cast<pid_t>(si.ssi_pid),
                     .uid = static_cast<uid_t>(si.ssi_uid),
                     .status = si.ssi_status});
    }
    if (count < buf.size()) return out;  // the kernel gave all it had
  }
}

}  // namespace podshim::signals
