// `podshim oci exec`: a new process in a created or running container, as `runc exec` makes it:
// the process of --process FILE, or the container's spec process with the command line's
// overrides, in the init's namespaces, cgroup and root. In the foreground it waits, forwarding
// signals, and returns the exit status; detached it returns once the process runs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/process_handle.h"
#include "common/result.h"
#include "oci/seccomp.h"
#include "oci/spec.h"
#include "oci/state.h"

namespace podshim::shim {

struct OciExecRequest {
  std::string id;
  std::string process_file;       // --process; empty: the spec's process + the overrides below
  std::vector<std::string> args;  // the command (required without process_file)
  bool detach = false;            // --detach
  std::string pid_file;           // --pid-file: bare digits, no newline
  std::string console_socket;     // --console-socket
  bool tty = false;               // --tty
  std::vector<std::string> env;   // --env, appended
  std::string cwd;                // --cwd
  std::string user;               // --user UID[:GID]
  std::vector<std::string> additional_gids;  // --additional-gids, appended
  std::vector<std::string> caps;  // --cap, appended to bounding, effective, permitted, ambient
  bool no_new_privs = false;      // --no-new-privs
  int preserve_fds = 0;           // --preserve-fds: the caller's 3 .. 3+N-1 become the same
  std::string process_label;      // --process-label (recorded, not applied)
  std::string apparmor;           // --apparmor (recorded, not applied)
  bool ignore_paused = false;     // --ignore-paused: exec into a paused (frozen) container
};

// The process runc 1.1.5 builds from the spec's and the flags: args replaced, env and additional
// gids appended, cwd and user (UID[:GID]) replaced, each --cap added to the bounding, effective,
// permitted and ambient sets, terminal = --tty, noNewPrivileges set by --no-new-privs. Pure.
// Errors (kInvalidSpec): `--user: "x" is not UID[:GID]`, `--additional-gids: "-1" is not a
// group id`, `process: the container's config.json has none`.
Result<oci::Process> ExecProcessFromFlags(const oci::Spec& spec, const OciExecRequest& req);

// A container's compiled seccomp filter, kept by a caller that execs into the same container
// many times (the containerd shim): linux.seccomp cannot change while the container lives, and
// compiling a 300-syscall profile takes ~8 ms of CPU. Filled by the first SpawnExec given it.
struct ExecSeccompCache {
  bool filled = false;
  std::optional<oci::SeccompProgram> program;  // empty: the spec has no linux.seccomp
};

// A process to launch in a created or running container as the caller's own child (the
// containerd shim's exec: it reaps the process itself). stdio -1 inherits the caller's.
struct ExecSpawn {
  std::string id;  // the container
  oci::Process process;
  int stdio[3] = {-1, -1, -1};
  int console_socket_fd = -1;  // process.terminal: the pty master is sent over it (required)
  int cgroup_dir_fd = -1;      // the process's cgroup v2 dir; -1: the init's (else podshim's)
  bool ignore_paused = false;
  ExecSeccompCache* seccomp = nullptr;  // optional: the container's filter, reused across execs
};

// Launches `spawn` in the container's namespaces, root and cgroup, with the process's user,
// caps, env and cwd, as runc exec does; returns once it runs. Errors as OciExec's.
Result<ProcessHandle> SpawnExec(const oci::StateDir& dir, const ExecSpawn& spawn);

// Runs the exec. Errors as runc's: `container "web" does not exist`, `cannot exec in a stopped
// container`, `cannot exec in a paused container (use --ignore-paused to override)`. Returns 0
// when detached, else the process's status (128+N when killed by signal N).
Result<int> OciExec(const oci::StateDir& dir, const OciExecRequest& req);

}  // namespace podshim::shim
