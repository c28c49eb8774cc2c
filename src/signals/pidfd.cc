#include "signals/pidfd.h"

#include <sys/wait.h>

#include <cerrno>
#include <string>

#include "common/sys.h"

namespace podshim::signals {
namespace {

std::string Describe(const ProcessHandle& p) { return "pid " + std::to_string(p.pid()); }

Result<std::optional<ExitEvent>> WaitPidfdFlags(const ProcessHandle& process, int flags) {
  if (process.pidfd() < 0)
    return Error::Errno(EBADF, "wait for " + Describe(process) + ": no pidfd");
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(process.pidfd()), &info, WEXITED | flags) < 0) {
      if (errno == EINTR) continue;
      return Error::Errno(errno, "waitid P_PIDFD for " + Describe(process));
    }
    if (info.si_pid == 0) return std::nullopt;  // WNOHANG: still running
    return DecodeSiginfo(info);
  }
}

}  // namespace

Status PidfdSignaller::Signal(const ProcessHandle& process, int sig) {
  if (process.pidfd() < 0) {
    return Error::Errno(EBADF, "signal " + Describe(process) + ": no pidfd");
  }
  Status s = sys::PidfdSendSignal(process.pidfd(), sig);
  if (!s) {
    if (s.error().code() == std::errc::no_such_process) return Ok();  // exited already
    return std::unexpected(std::move(s).error().Wrap("signal " + Describe(process)));
  }
  return Ok();
}

Result<ExitEvent> WaitPidfd(const ProcessHandle& process) {
  std::optional<ExitEvent> ev = PODSHIM_TRY(WaitPidfdFlags(process, 0));
  // Without WNOHANG waitid returns only once the process has exited.
  if (!ev) return Error::Errno(EAGAIN, "wait for " + Describe(process) + ": no exit reported");
  return *ev;
}

Result<std::optional<ExitEvent>> TryWaitPidfd(const ProcessHandle& process) {
  return WaitPidfdFlags(process, WNOHANG);
}

}  // namespace podshim::signals
