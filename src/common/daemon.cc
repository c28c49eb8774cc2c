#include "common/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>
#include <string>

#include "common/sys.h"

namespace podshim::daemon {
namespace {

// In the daemon, right after the second fork: only syscalls, no allocation.
void BecomeDaemon(int keep_fd) {
  sigset_t empty;
  ::sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  // Ignored signals stay ignored across fork and exec: a caller that ignored SIGTERM (nohup,
  // a runtime's own setup) must not make the shim deaf to it.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) (void)::sigaction(sig, &dfl, nullptr);
  }
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    for (int fd = 0; fd <= 2; ++fd) (void)::dup2(null_fd, fd);
    // dup2 clears FD_CLOEXEC, except when null_fd is already one of 0-2 (a caller without it).
    for (int fd = 0; fd <= 2; ++fd) (void)::fcntl(fd, F_SETFD, 0);
  }
  (void)::chdir("/");
  // Whatever the caller let us inherit (its pipes, sockets) must not be held open by a process
  // that lives on after it.
  if (keep_fd > 3) (void)::close_range(3, static_cast<unsigned>(keep_fd) - 1, 0);
  (void)::close_range(static_cast<unsigned>(keep_fd) + 1, UINT_MAX, 0);
}

}  // namespace

Result<Detached> Detach() {
  sys::PipePair pipe = PODSHIM_TRY(sys::Pipe(O_CLOEXEC));
  pid_t middle = ::fork();
  if (middle < 0) return Error::Errno(errno, "fork");
  if (middle == 0) {
    // The intermediate process: leaves the caller's session (and terminal), then forks the
    // daemon, which is no session leader and so can never acquire a controlling terminal.
    pipe.read.Reset();
    if (::setsid() < 0) ::_exit(errno);
    pid_t daemon = ::fork();
    if (daemon < 0) ::_exit(errno);
    if (daemon > 0) ::_exit(0);
    BecomeDaemon(pipe.write.get());
    return Detached{true, std::move(pipe.write)};
  }
  pipe.write.Reset();
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(middle, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Error::Errno(errno, "wait for the intermediate process");
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    return Error::Errno(WEXITSTATUS(status), "setsid and fork the daemon");
  }
  if (!WIFEXITED(status)) {
    return Error::Errno(
        EINTR, "the intermediate process was killed by signal " + std::to_string(WTERMSIG(status)));
  }
  return Detached{false, std::move(pipe.read)};
}

Status SendLine(int fd, std::string_view line) {
  sigset_t pipe_set, old;
  ::sigemptyset(&pipe_set);
  ::sigaddset(&pipe_set, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &pipe_set, &old);
  sigset_t pending;
  ::sigpending(&pending);
  const bool was_pending = ::sigismember(&pending, SIGPIPE) == 1;
  Status written = sys::WriteAll(fd, std::string(line) + "\n");
  if (!written && !was_pending) {
    timespec zero{};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return written;
}

}  // namespace podshim::daemon
