// ContainerExecutor: runs a command inside a running container, asynchronously on the shim's one
// io_context (exec probes, exec hooks, `ctl exec`). Each run gets its own exec cgroup below the
// container's leaf and is launched by oci::BuildExecPlan from the container's ExecTemplate
// (namespaces, user, env, capabilities, seccomp: prepared once per container); stdout and stderr
// are collected up to a cap; at the timeout, and when the command's main process ends, whatever is
// left in its exec cgroup is killed.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/manager.h"
#include "oci/exec_template.h"
#include "oci/launcher.h"
#include "signals/exit_event.h"

namespace podshim::shim {

// The container to run in: its exec template (prepared from the spec as launched), the pid of its
// main process and its leaf cgroup (nullopt when the pod runs without cgroups).
struct ExecTarget {
  std::string container;
  const oci::ExecTemplate* exec = nullptr;
  pid_t pid = -1;
  std::optional<cgroups::CgroupPath> leaf;
};

struct ExecCommand {
  std::vector<std::string> argv;  // run directly (no shell); non-empty
  // Killed (the whole exec cgroup) when it runs longer; nullopt: no limit of its own (a hook
  // ends with its container).
  std::optional<std::chrono::steady_clock::duration> timeout;
  std::size_t output_limit = 1 << 20;  // bytes kept per stream; the rest is read and dropped
};

struct ExecOutcome {
  // Set when the command could not be started (no such binary, the container is gone, ...):
  // the other fields are then meaningless.
  std::optional<std::string> start_error;
  int exit_code = 0;       // 128+N after signal N
  bool timed_out = false;  // killed at the timeout
  std::string stdout_text;
  std::string stderr_text;
  bool truncated = false;  // a stream said more than output_limit
};
using ExecCallback = std::function<void(ExecOutcome)>;
// Runs a command in one particular container (the event loop binds the target): what probes and
// hooks are given.
using ExecInContainerFn = std::function<void(ExecCommand, ExecCallback)>;

class ContainerExecutor {
 public:
  // `cgroups` may be nullptr (no cgroups: a timeout then kills only the command's own process).
  // All must outlive the executor.
  ContainerExecutor(boost::asio::io_context& io, oci::ProcessLauncher& launcher,
                    cgroups::CgroupManager* cgroups);
  ~ContainerExecutor();
  ContainerExecutor(const ContainerExecutor&) = delete;
  ContainerExecutor& operator=(const ContainerExecutor&) = delete;

  // Starts `command` in `target`. `done` is called exactly once, later, from io.run() (also for
  // a start error), unless the executor is destroyed first.
  void Run(const ExecTarget& target, ExecCommand command, ExecCallback done);

  // The shim reaps every child; it hands each exit here. True when `exit` was an exec's.
  bool OnProcessExited(const signals::ExitEvent& exit);

  // SIGKILLs every command still running (the shim is going away); no callback is called after.
  void KillAll();
  // True while no command runs.
  bool idle() const { return runs_.empty(); }

 private:
  struct Execution;
  void Finish(uint64_t id);
  void MaybeFinish(uint64_t id);
  void KillExecution(Execution& e);

  boost::asio::io_context& io_;
  oci::ProcessLauncher& launcher_;
  cgroups::CgroupManager* cgroups_;
  std::map<uint64_t, std::shared_ptr<Execution>> runs_;
  std::map<pid_t, uint64_t> by_pid_;
  uint64_t next_id_ = 1;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace podshim::shim
