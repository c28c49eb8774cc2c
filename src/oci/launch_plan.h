// LaunchPlan: everything a container process needs, computed in the parent before clone3 so the
// child only makes async-signal-safe syscalls on prepared data (STYLE.md 5d.7).
// BuildLaunchPlan turns a Spec (spec.h) plus the caller's fds and ids into the plan of the
// container's first process; BuildExecPlan (exec_plan.h) one for a process joining it later.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/console.h"
#include "oci/mounts.h"
#include "oci/seccomp.h"
#include "oci/spec.h"

namespace podshim::oci {

// Owned strings plus the null-terminated char* array execve wants (argv, envp). Copying or
// moving rebuilds the pointer array, so data() always points into this object's storage.
class CStringArray {
 public:
  CStringArray() { Rebuild(); }
  explicit CStringArray(std::vector<std::string> items) : items_(std::move(items)) { Rebuild(); }
  CStringArray(const CStringArray& o) : items_(o.items_) { Rebuild(); }
  CStringArray(CStringArray&& o) noexcept : items_(std::move(o.items_)) {
    Rebuild();
    o.Rebuild();
  }
  CStringArray& operator=(const CStringArray& o);
  CStringArray& operator=(CStringArray&& o) noexcept;

  char* const* data() const { return ptrs_.data(); }
  const std::vector<std::string>& items() const { return items_; }
  size_t size() const { return items_.size(); }

 private:
  void Rebuild();
  std::vector<std::string> items_;
  std::vector<char*> ptrs_;
};

// How the process waits between set-up and execve.
enum class StartGate {
  kNone,  // exec at once; Launch returns after the execve succeeded (or with its error)
  // runc's exec.fifo: the parent opens `fifo_path` O_PATH before clone; after set-up the child
  // opens /proc/self/fd/<n> O_WRONLY (blocks until `start` opens the fifo for reading) and
  // writes one byte "0". Needs /proc mounted in the container (checked before "ready").
  kFifo,
};

struct LaunchOptions {
  std::string container_id;  // used in error messages: container "web": pivot_root: ...
  int stdin_fd = -1;         // -1: inherit the caller's 0 / 1 / 2
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::vector<int> extra_fds;  // become 3, 4, ... in the container (not owned by the plan)
  int cgroup_dir_fd = -1;      // cgroup v2 directory: clone3(CLONE_INTO_CGROUP); -1: caller's
  StartGate gate = StartGate::kNone;
  std::filesystem::path fifo_path;  // kFifo: an existing fifo (mkfifo by the caller)
  // A connected AF_UNIX SOCK_STREAM socket (console.h: ConnectConsoleSocket, or one end of a
  // socketpair), not owned by the plan: required when process.terminal is true, refused
  // otherwise. The child sends the pty master over it.
  int console_socket_fd = -1;
};

struct NamespaceJoin {
  NamespaceType type = NamespaceType::kNetwork;
  int clone_flag = 0;  // CLONE_NEWNET, ...; setns(fd, clone_flag)
  std::string path;    // opened O_RDONLY|O_CLOEXEC by Launch
};

// The five capability sets as bit masks (bit n = capability n); built from the spec's names.
// `ambient` holds only capabilities that are also permitted and inheritable: the kernel refuses
// to raise any other (EPERM), so the plan drops them with a warning, as runc and crun skip them.
struct CapabilityMasks {
  uint64_t bounding = 0;
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
  uint64_t ambient = 0;
  int last_cap = 63;  // the kernel's highest capability: the child drops 0..last_cap
};

struct RlimitStep {
  int resource = 0;
  struct rlimit limit {};
  std::string name;  // "RLIMIT_NOFILE", for errors
};

struct SysctlStep {
  std::string key;   // "net.ipv4.ip_forward", for errors
  std::string path;  // "/proc/sys/net/ipv4/ip_forward" (inside the container, after pivot)
  std::string value;
};

// What the plan starts; only changes how errors read.
enum class PlanKind {
  kContainer,  // the container's first process: container "web": pivot_root: ...
  kExec,       // a process run inside a running container: exec in container "web": ...
};

struct LaunchPlan {
  std::string container_id;
  PlanKind kind = PlanKind::kContainer;

  // Process.
  CStringArray argv;
  CStringArray envp;
  // Absolute container paths execve tries in order: args[0] itself when it contains a '/',
  // otherwise args[0] joined to each entry of PATH from the spec's env (runc's lookup).
  std::vector<std::string> exec_candidates;
  std::string cwd;

  // Namespaces. clone_flags holds the CLONE_NEW* flags of the namespaces to create.
  uint64_t clone_flags = 0;
  std::vector<NamespaceJoin> joins;  // user first, then the others in spec order
  // Non-empty: the pid namespace the process is created in. setns() cannot move a process into
  // a pid namespace, so Launch switches its own pid_for_children to this path around clone3.
  std::string pid_ns_path;
  std::string uid_map;  // "0 100000 65536\n..." written to /proc/<pid>/uid_map
  std::string gid_map;
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;

  // Filesystem.
  bool setup_rootfs = false;  // false for an exec plan: no mounts, no pivot_root
  // The spec lists no mount namespace: the rootfs is set up in the runtime's own (its mounts
  // outlive the container, as with runc and crun) and entered with chroot, not pivot_root.
  bool chroot_rootfs = false;
  // Exec plan of such a container: chroot here (/proc/<init>/root) after joining namespaces.
  std::string exec_root;
  std::string rootfs;  // absolute host path
  bool readonly_rootfs = false;
  // Set on the container's "/" after pivot_root (default MS_SLAVE|MS_REC); until then "/" is
  // MS_SLAVE|MS_REC, so nothing mounted during set-up reaches the host.
  unsigned long rootfs_propagation = 0;
  std::vector<RootfsStep> rootfs_steps;     // before pivot_root, in order
  std::vector<std::string> masked_paths;    // after pivot_root: /dev/null or ro tmpfs over it
  std::vector<std::string> readonly_paths;  // after pivot_root: bind + remount ro
  std::vector<SysctlStep> sysctls;

  // Process attributes.
  std::vector<RlimitStep> rlimits;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  mode_t umask = 022;
  std::optional<CapabilityMasks> capabilities;  // absent: left as the uid change leaves them
  bool no_new_privileges = false;
  std::optional<SeccompProgram> seccomp;  // compiled by CompileSeccomp (seccomp.h)
  std::optional<int> oom_score_adj;       // written by the parent to /proc/<pid>/oom_score_adj
  // What the plan tolerated instead of failing (ambient capabilities it dropped), one line each
  // ending ", ignoring"; the launcher hands them to its warning sink before clone3.
  std::vector<std::string> warnings;

  // Fds and control.
  int stdio[3] = {-1, -1, -1};  // -1: inherit
  std::vector<int> extra_fds;
  int cgroup_dir_fd = -1;
  StartGate gate = StartGate::kNone;
  std::filesystem::path fifo_path;
  // Present: the process gets a new pty (console.h), sent over terminal->socket_fd. Exec plans
  // set it themselves: plan.terminal = TerminalPlan{fd, process.consoleSize}.
  std::optional<TerminalPlan> terminal;
  // Set by the caller after BuildLaunchPlan: the parent's own work that need not come before
  // the child's set-up (loading its device program), done while the child sets up; with no
  // gate, before the child goes on. Gets the child's pid (in our pid namespace). An error kills
  // the child and is the launch's error.
  std::function<Status(pid_t)> while_child_sets_up;
};

// Builds the plan. Errors: kInvalidSpec naming the field (`mounts[2].destination: ".." escapes
// the root filesystem`), kUnsupported for what podshim cannot do (joining a time namespace by
// path, seccomp notify). process.terminal needs opts.console_socket_fd (and refuses it when
// false).
Result<LaunchPlan> BuildLaunchPlan(const Spec& spec, const std::filesystem::path& bundle_dir,
                                   LaunchOptions opts);

// `container "web"` or `exec in container "web"`: how errors about the plan's process begin.
std::string PlanErrorPrefix(const LaunchPlan& plan);

// Building blocks shared by BuildLaunchPlan and BuildExecPlan.
// CLONE_NEWNET, ... for a namespace type.
int NamespaceCloneFlag(NamespaceType type);
// `path` lexically normalised; kInvalidSpec naming `field` when it is not absolute.
Result<std::string> AbsoluteContainerPath(const std::string& path, const std::string& field);
// The process attributes kept by every process of a container: rlimits, uid, gid, additional
// gids, umask, capabilities, noNewPrivileges and the compiled seccomp filter. Ambient
// capabilities the kernel cannot raise are dropped; a kContainer plan also gets a warning
// naming them (an exec plan does not repeat it). Set plan.kind and container_id first.
Status PlanProcessAttributes(const Spec& spec, LaunchPlan& plan);

// PATH from `env` ("PATH=/a:/b"), or runc's default when absent; then the candidate paths for
// `arg0` (itself when it contains a '/'). Pure; exposed for tests.
std::vector<std::string> ExecCandidates(const std::string& arg0,
                                        const std::vector<std::string>& env);

}  // namespace podshim::oci
