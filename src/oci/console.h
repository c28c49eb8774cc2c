// Terminals for container processes (`process.terminal`), as runc's console socket does it: the
// parent connects the caller's AF_UNIX socket before clone3; the child allocates a pty from the
// container's devpts, sends the master over that socket (SCM_RIGHTS) and makes the slave its
// stdio and controlling terminal. Also the parent-side helpers: connect, receive, check options.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"
#include "oci/spec.h"

namespace podshim::oci {

// LaunchPlan::terminal: give the process a new pty. The master goes over `socket_fd`, a
// connected AF_UNIX SOCK_STREAM socket the caller owns (not the plan); the window size is set
// from `size` when present.
struct TerminalPlan {
  int socket_fd = -1;
  std::optional<ConsoleSize> size;
  // The container's first process (its own rootfs): the slave is also bind-mounted on
  // /dev/console, as runc does; exec plans leave it alone.
  bool mount_console = false;
};

// What the child sends with the master, as runc does (the name of the file it opened there).
inline constexpr char kConsoleName[] = "/dev/ptmx";

// The sub-steps of the child's terminal set-up; ChildStep::kConsole carries one as its index.
enum class ConsoleStep : int32_t {
  kOpenPtmx = 0,  // open /dev/pts/ptmx (the devpts mounted in the container)
  kUnlock,        // TIOCSPTLCK 0
  kOpenSlave,     // TIOCGPTPEER
  kWindowSize,    // TIOCSWINSZ from process.consoleSize
  kSend,          // sendmsg of the master over the console socket
  kSetsid,
  kStdio,         // the slave onto fds 0, 1, 2
  kSetCtty,       // TIOCSCTTY
  kChown,         // fchown of the slave to the process's uid (runc's fixStdioPermissions)
  kMountConsole,  // bind the slave onto /dev/console
};

// Runs in the clone3 child, after the mounts and pivot_root and before the ids and capabilities
// change: only syscalls on prepared data (STYLE.md 5d.7). Allocates the pty, sends the master
// over `socket_fd` and closes both (the master and the socket), bind-mounts the slave on
// /dev/console (terminal.mount_console), makes it fds 0-2 and the controlling terminal of a new
// session, owned by `uid`. Returns 0, or an errno with `*step`
// set to the failed ConsoleStep.
int SetUpConsoleInChild(const TerminalPlan& terminal, int socket_fd, uid_t uid, int32_t* step);

// "allocate a pty (open /dev/pts/ptmx)", ...: a ConsoleStep as an error reads (parent side).
std::string ConsoleStepName(int32_t step);

// runc's rules for --console-socket: a terminal for a process podshim does not stay attached to
// (create, run -d, exec -d) needs a socket, and a socket needs a terminal and a detached
// process. kInvalidSpec with runc's messages otherwise.
Status CheckConsoleOptions(bool terminal, bool detached, bool has_socket);

// Connects to the caller's console socket (AF_UNIX SOCK_STREAM, close-on-exec). Errors name
// the path: `--console-socket "/tmp/s": connect: Connection refused`.
Result<UniqueFd> ConnectConsoleSocket(const std::string& path);

// Receives the master sent by SetUpConsoleInChild over `socket_fd` (one message with one
// SCM_RIGHTS fd; it is made close-on-exec). EPROTO when the message carries no fd.
Result<UniqueFd> ReceiveConsoleMaster(int socket_fd);

}  // namespace podshim::oci
