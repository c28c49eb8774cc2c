// LinuxLauncher: clone3(CLONE_PIDFD | CLONE_CLEAR_SIGHAND | CLONE_NEW* [| CLONE_INTO_CGROUP]),
// id maps written by the parent, then the ordered child set-up (child_setup.h) reporting its
// first failure as {step, errno} over a close-on-exec SOCK_SEQPACKET pair. Needs kernel >= 5.7.
// A plan's pid_ns_path is entered by the parent (setns of its pid_for_children) around clone3.
// Each of plan.warnings goes to a warning sink just before clone3 (default: stderr).
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "oci/launcher.h"

namespace podshim::oci {

class LinuxLauncher final : public ProcessLauncher {
 public:
  // Receives each of a plan's warnings (one line ending ", ignoring") in the parent.
  using WarningSink = std::function<void(const std::string&)>;
  // Warnings go to stderr as `podshim: warning: <text>`.
  LinuxLauncher();
  explicit LinuxLauncher(WarningSink warn) : warn_(std::move(warn)) {}

  // The child gets no PR_SET_PDEATHSIG: like runc's detached containers, it outlives the caller
  // (`podshim oci create` exits while the container waits at its gate). Until the parent says
  // "go" (after the id maps), the child exits on its own if the parent dies.
  // No fallback when the kernel refuses CLONE_INTO_CGROUP (e.g. a cgroup v1 fd): the error is
  // returned; the caller passes a cgroup v2 directory fd or -1.
  // With plan.pid_ns_path the caller's pid_for_children is switched for the clone3 and always
  // switched back (on every path) to what /proc/self/ns/pid_for_children named before; the
  // caller must be single-threaded, as the shim is.
  Result<ProcessHandle> Launch(const LaunchPlan& plan) override;

 private:
  WarningSink warn_;
};

}  // namespace podshim::oci
