#include "shim/ocirt/foreground.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/sys.h"
#include "shim/ocirt/tty_relay.h"

namespace podshim::shim {

Result<UniqueFd> BlockForwardedSignals(sigset_t* old) {
  constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kForwarded) sigaddset(&set, sig);
  if (::sigprocmask(SIG_BLOCK, &set, old) < 0) return Error::Errno(errno, "sigprocmask");
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) {
    int err = errno;
    ::sigprocmask(SIG_SETMASK, old, nullptr);
    return Error::Errno(err, "signalfd");
  }
  return sfd;
}

Status ForwardUntilExit(int pidfd, int sfd) {
  struct pollfd p[2] = {{pidfd, POLLIN, 0}, {sfd, POLLIN, 0}};
  for (;;) {
    int r = ::poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error::Errno(errno, "poll");
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) continue;
        (void)sys::PidfdSendSignal(pidfd, static_cast<int>(si.ssi_signo));
      }
    }
    if (p[0].revents & POLLIN) return Ok();
  }
}

Status RelayUntilExit(int master, int pidfd, int sfd) {
  RelayFds fds;
  fds.master = master;
  fds.pidfd = pidfd;
  fds.signal_fd = sfd;
  return RelayTerminal(fds, [pidfd](int sig) { (void)sys::PidfdSendSignal(pidfd, sig); });
}

Result<int> ReapExitStatus(int pidfd) {
  siginfo_t info{};
  while (::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED) < 0) {
    if (errno != EINTR) return Error::Errno(errno, "waitid");
  }
  if (info.si_code == CLD_EXITED) return info.si_status;
  return 128 + info.si_status;  // CLD_KILLED, CLD_DUMPED
}

}  // namespace podshim::shim
