#include "oci/console.h"

#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "common/fd_passing.h"
#include "common/quoted.h"
#include "oci/rootfs_resolve.h"

namespace podshim::oci {
namespace {

// One message: kConsoleName as payload, `fd` as SCM_RIGHTS. Child side: no allocation.
int SendFd(int socket_fd, int fd) {
  const size_t size = sizeof kConsoleName - 1;
  const ssize_t n = SendWithFd(socket_fd, kConsoleName, size, fd);
  if (n < 0) return static_cast<int>(-n);
  return n == static_cast<ssize_t>(size) ? 0 : EPIPE;
}

// A bind mount of the pty slave on /dev/console (created as a file when missing), resolved in
// the container's root like every other mount target. 0 or an errno.
int MountConsole(int slave) {
  int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return errno;
  int target = OpenInRoot(root, "/dev/console", CreateKind::kFile);
  ::close(root);
  if (target < 0) return -target;
  int err = 0;
  int mnt = ::open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (mnt < 0 ||
      ::move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    err = errno;
  }
  if (mnt >= 0) ::close(mnt);
  ::close(target);
  return err;
}

// Closes `fd` keeping errno.
void CloseKeepErrno(int fd) {
  int saved = errno;
  ::close(fd);
  errno = saved;
}

}  // namespace

int SetUpConsoleInChild(const TerminalPlan& terminal, int socket_fd, uid_t uid, int32_t* step) {
  auto failed = [step](ConsoleStep s) {
    *step = static_cast<int32_t>(s);
    return errno;
  };
  // The devpts mounted in the container (not the host's /dev/ptmx), so the pty is numbered in
  // the container's instance: the slave is /dev/pts/0 there.
  int master = ::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return failed(ConsoleStep::kOpenPtmx);
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) < 0) {
    CloseKeepErrno(master);
    return failed(ConsoleStep::kUnlock);
  }
  // By the master fd, not by a path: no lookup another mount could redirect.
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    CloseKeepErrno(master);
    return failed(ConsoleStep::kOpenSlave);
  }
  if (terminal.size) {
    struct winsize ws {};
    ws.ws_row = static_cast<unsigned short>(terminal.size->height);
    ws.ws_col = static_cast<unsigned short>(terminal.size->width);
    if (::ioctl(master, TIOCSWINSZ, &ws) < 0) {
      CloseKeepErrno(master);
      CloseKeepErrno(slave);
      return failed(ConsoleStep::kWindowSize);
    }
  }
  int err = SendFd(socket_fd, master);
  ::close(master);
  ::close(socket_fd);
  if (err != 0) {
    ::close(slave);
    errno = err;
    return failed(ConsoleStep::kSend);
  }
  // From here on a failure leaves the fds to _exit.
  if (::setsid() < 0) return failed(ConsoleStep::kSetsid);
  struct stat st;
  if (::fstat(slave, &st) < 0) return failed(ConsoleStep::kChown);
  if (st.st_uid != uid && ::fchown(slave, uid, static_cast<gid_t>(-1)) < 0) {
    return failed(ConsoleStep::kChown);
  }
  if (terminal.mount_console) {
    if (int e = MountConsole(slave)) {
      errno = e;
      return failed(ConsoleStep::kMountConsole);
    }
  }
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(slave, fd) < 0) return failed(ConsoleStep::kStdio);
  }
  if (slave > 2) ::close(slave);
  if (::ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0) return failed(ConsoleStep::kSetCtty);
  return 0;
}

std::string ConsoleStepName(int32_t step) {
  switch (static_cast<ConsoleStep>(step)) {
    case ConsoleStep::kOpenPtmx:
      return "allocate a terminal: open /dev/pts/ptmx (is devpts mounted on /dev/pts?)";
    case ConsoleStep::kUnlock:
      return "allocate a terminal: unlock the pty";
    case ConsoleStep::kOpenSlave:
      return "allocate a terminal: open the pty slave";
    case ConsoleStep::kWindowSize:
      return "set the terminal size from process.consoleSize";
    case ConsoleStep::kSend:
      return "send the pty master over the console socket";
    case ConsoleStep::kSetsid:
      return "setsid";
    case ConsoleStep::kStdio:
      return "make the terminal stdin, stdout and stderr";
    case ConsoleStep::kSetCtty:
      return "make the terminal the controlling terminal";
    case ConsoleStep::kChown:
      return "give the terminal to the process's user";
    case ConsoleStep::kMountConsole:
      return "bind the terminal onto /dev/console";
  }
  return "set up the terminal";
}

Status CheckConsoleOptions(bool terminal, bool detached, bool has_socket) {
  if (terminal && detached && !has_socket) {
    return Error::Invalid(
        "process.terminal: cannot allocate a tty if podshim will detach without setting a "
        "console socket (--console-socket)");
  }
  if (has_socket && (!terminal || !detached)) {
    return Error::Invalid(
        "--console-socket: cannot use a console socket if podshim will not detach or allocate "
        "a tty (process.terminal is " +
        std::string(terminal ? "true, and podshim stays in the foreground)" : "false)"));
  }
  return Ok();
}

Result<UniqueFd> ConnectConsoleSocket(const std::string& path) {
  const std::string what = "--console-socket " + Quoted(path);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Error::Invalid(what + ": a unix socket path must have 1 to " +
                          std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  ::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::Errno(errno, what + ": socket");
  if (::connect(fd.get(), reinterpret_cast<const struct sockaddr*>(&addr), sizeof addr) < 0) {
    return Error::Errno(errno, what + ": connect");
  }
  return fd;
}

Result<UniqueFd> ReceiveConsoleMaster(int socket_fd) {
  char name[256];
  ReceivedWithFd r = PODSHIM_TRY_WRAP(ReceiveWithFd(socket_fd, name), "receive the pty master");
  if (!r.fd) {
    return Error::Errno(r.bytes == 0 ? EPIPE : EPROTO,
                        "receive the pty master: no fd in the message");
  }
  return std::move(r.fd);
}

}  // namespace podshim::oci
