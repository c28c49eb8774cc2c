// Upgrade in place (`podshim ctl upgrade --binary PATH`): the running shim re-executes itself
// with another binary in the same process, as systemd's daemon-reexec does. The pid stays, so
// every container stays its child (exit codes stay exact); the fds that carry the pod on (the
// listening control socket, the state dir's lock, the pod's namespaces, each container output
// pipe) stay open across execve and are named in a HandoverRecord, JSON in $PODSHIM_HANDOVER.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "shim/record/container_logs.h"

namespace podshim::shim {

// The environment variable the record travels in (the new image unsets it first thing).
inline constexpr char kHandoverEnv[] = "PODSHIM_HANDOVER";

// One output pipe of a container instance: its read end, and the bytes of an unfinished line
// the old image's pump held (the new pump starts with them, so no line is cut in two).
struct HandedPipe {
  std::string container;
  int restart_count = 0;  // the instance, whose log is ContainerLogPath(log_dir, container, N)
  LogStream stream = LogStream::kStdout;
  int fd = -1;
  std::string pending;
  bool operator==(const HandedPipe&) const = default;
};

struct HandoverRecord {
  std::string cwd;                // the shim's cwd when it was started (main's)
  std::vector<std::string> argv;  // its command line as given (argv[0] is replaced by the binary)
  std::string from_version;       // the version of the image that handed over
  int64_t handovers = 1;          // in-place upgrades of this process so far, this one included
  int lock_fd = -1;               // <state-dir>/podshim.lock, locked (shim_lock.h)
  int listen_fd = -1;             // the control socket, listening
  std::map<std::string, int> ns_fds;  // "net", "ipc", "uts" -> the pod's namespace fds
  int keeper_fd = -1;                 // the socket to the pod keeper (`start`); -1: none
  std::vector<HandedPipe> pipes;
  bool operator==(const HandoverRecord&) const = default;

  // Every fd the record names.
  std::vector<int> Fds() const;
};

// The record as one line of JSON (pending bytes hex-encoded: they need not be UTF-8) and back.
// Parse errors (kInvalidSpec) name the field; an fd below 3 or named twice is refused.
std::string FormatHandover(const HandoverRecord& record);
Result<HandoverRecord> ParseHandover(std::string_view text);

// A binary the shim may re-execute: `path` as checked, and the version it reported.
struct UpgradeBinary {
  std::string path;
  std::string version;  // from its first output line, "podshim version X"
};

// Checks `path` before anything changes: absolute, a regular file, executable by us, and
// `path version` exits 0 within `timeout` printing "podshim version X". The error names the path
// and what is wrong with it.
Result<UpgradeBinary> CheckUpgradeBinary(
    const std::string& path, std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Clears FD_CLOEXEC on exactly the record's fds, puts the record in the environment and execs
// `binary` with record.argv (argv[0] replaced). Returns only on failure, with every fd's
// close-on-exec flag and the environment restored: the running image goes on.
Status ExecHandover(const std::string& binary, const HandoverRecord& record);

// What main saw when this process image started, for the pod commands: its argv, its cwd, and
// the record when it was exec'd by an upgrade.
struct ShimInvocation {
  std::vector<std::string> argv;
  std::string cwd;
  std::optional<HandoverRecord> handover;
};
// Called by main first: takes $PODSHIM_HANDOVER (unset, parsed, every named fd close-on-exec
// again so that no container inherits it, chdir to its cwd). An unreadable record is an error.
Status InitShimInvocation(int argc, char** argv);
const ShimInvocation& CurrentShimInvocation();

}  // namespace podshim::shim
