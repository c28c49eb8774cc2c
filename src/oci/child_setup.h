// The container's first process between clone3 and execve: the ordered set-up steps run on a
// LaunchPlan built before the clone, making only async-signal-safe syscalls (no malloc, no
// locks, no logging). The first failure goes to the parent as a ChildReport {step, index, errno}.
#pragma once

#include <cstdint>
#include <string>

#include "oci/launch_plan.h"

namespace podshim::oci {

// The set-up steps, in the order the child runs them.
enum class ChildStep : uint32_t {
  kSignals = 1,  // SIG_DFL everywhere, empty signal mask
  kUserNsRoot,   // setresgid/setresuid(0) in a new user namespace
  kFds,          // stdio and extra fds into place; everything else close-on-exec
  kSetns,        // index: plan.joins
  kHostname,
  kDomainname,
  kRootPropagation,  // MS_SLAVE|MS_REC on "/"; rootfs_propagation after pivot_root
  kRootfsBind,       // bind the rootfs onto itself
  kRootfsStep,       // index: plan.rootfs_steps
  kPivotRoot,
  kChroot,        // no mount namespace of its own (plan.chroot_rootfs, plan.exec_root)
  kMaskPath,      // index: plan.masked_paths
  kReadonlyPath,  // index: plan.readonly_paths
  kReadonlyRootfs,
  kSysctl,  // index: plan.sysctls
  kRlimit,  // index: plan.rlimits
  kBoundingSet,
  kKeepCaps,
  kSetgroups,
  kSetresgid,
  kSetresuid,
  kCapset,
  kAmbient,  // index: the capability number
  kChdir,
  kNoNewPrivs,
  kExecLookup,  // no exec candidate exists / is executable
  kStartGate,   // opening the exec fifo (index -1: /proc not mounted)
  kSeccomp,
  kExec,
  kConsole,  // after kRlimit, index: a ConsoleStep (console.h)
};

enum class ChildReportKind : uint32_t { kReady = 1, kFailed = 2 };

// One SOCK_SEQPACKET message from the child.
struct ChildReport {
  ChildReportKind kind = ChildReportKind::kReady;
  ChildStep step = ChildStep::kSignals;
  int32_t index = -1;
  int32_t err = 0;
};

// Fds the parent opened for the child (copies in the child's fd table after clone3).
struct ChildFds {
  int sync = -1;     // SOCK_SEQPACKET: reads "go" (1 byte), writes ChildReports
  int fifo = -1;     // StartGate::kFifo: the O_PATH fd of the exec fifo
  int console = -1;  // plan.terminal: the console socket
  static constexpr int kMaxJoins = 8;
  int joins[kMaxJoins] = {-1, -1, -1, -1, -1, -1, -1, -1};  // parallel to plan.joins
  // Not an fd: the signals the parent ignores (bit n-1: signal n), which the child resets to
  // SIG_DFL (clone3's CLONE_CLEAR_SIGHAND resets the handled ones). All bits: reset them all.
  uint64_t ignored_signals = ~uint64_t{0};
};

// Runs in the clone3 child; never returns (execve or _exit(127)).
[[noreturn]] void RunChild(const LaunchPlan& plan, const ChildFds& fds);

// "pivot_root", "mount proc on /proc", "setns net /proc/42/ns/net", "exec \"foo\"": the step
// as the parent reports it. Runs in the parent (allocates).
std::string ChildStepName(const LaunchPlan& plan, ChildStep step, int32_t index);

}  // namespace podshim::oci
