// The container lifecycle behind `podshim oci`: create (set up, wait at exec.fifo), start, kill,
// delete and run (create + start + wait), on the runc-compatible state dir (oci/state.h).
// Each operation returns what the command prints or its exit status; errors read like runc's:
// `container "web" does not exist`, `cannot start an already running container`.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"
#include "oci/state.h"

namespace podshim::shim {

struct OciCreateRequest {
  std::string id;
  std::filesystem::path bundle;  // relative paths are made absolute
  std::string pid_file;          // empty: none
  // process.terminal: the caller's AF_UNIX socket the pty master is sent to (runc's
  // --console-socket). Needed by create and run -d with a terminal, refused otherwise.
  std::string console_socket;
  // Instead of console_socket: a connected AF_UNIX socket the caller owns (not taken), e.g. one
  // end of its socketpair (the containerd shim receives the master on the other end).
  int console_socket_fd = -1;
  int preserve_fds = 0;  // the caller's fds 3 .. 3+N-1 become the container's 3 ..
  // The container's stdin, stdout and stderr (not owned); -1: the caller's 0, 1, 2 (the CLI).
  // The containerd shim passes the task's FIFOs (or /dev/null) here.
  int stdio[3] = {-1, -1, -1};
  // Refuse linux.cgroupsPath's systemd form ("slice:prefix:name") instead of mapping it to a
  // slice and scope directory: the containerd shim, whose callers mean systemd's driver by it.
  bool refuse_systemd_cgroups_path = false;
};

// Loads and checks the bundle, sets the process up and leaves it waiting at exec.fifo, runs the
// prestart, createRuntime and createContainer hooks, and records the state ("created"). On any
// failure the process is killed and the container's state dir removed.
Status OciCreate(const oci::StateDir& dir, const OciCreateRequest& req);

// Opens exec.fifo for reading, which lets the process exec; runs startContainer before and
// poststart after (a failing poststart hook is a warning).
Status OciStart(const oci::StateDir& dir, const std::string& id);

// Sends `sig` to the container's process (by pidfd, after checking the pid was not reused).
Status OciKill(const oci::StateDir& dir, const std::string& id, int sig);

// Removes a stopped container (running poststop hooks). A created one is killed first, as runc
// does; a running one only with `force` (SIGKILL, then wait for it to die).
Status OciDelete(const oci::StateDir& dir, const std::string& id, bool force);

// create + start + wait in the foreground: forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1
// and SIGUSR2 to the container, removes its state at the end and returns its exit status (128+N
// for a signal). With process.terminal, relays the caller's terminal (put in raw mode until the
// end) to the container's pty (tty_relay.h). `detach`: return 0 once it runs, as `runc run -d`.
Result<int> OciRun(const oci::StateDir& dir, const OciCreateRequest& req, bool detach);

}  // namespace podshim::shim
