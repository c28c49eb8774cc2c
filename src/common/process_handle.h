// ProcessHandle: a child process referred to by pid and pidfd (move-only), and ChildGuard,
// which kills and reaps a child that was not handed over (error paths never leak a process).
// Signalling and waiting policy lives in signals/; this is only the handle.
#pragma once

#include <sys/types.h>

#include <utility>

#include "common/unique_fd.h"

namespace podshim {

class ProcessHandle {
 public:
  ProcessHandle() = default;
  ProcessHandle(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  // A handle with no pidfd, for fakes: never signalled or waited on for real.
  static ProcessHandle ForTest(pid_t pid) { return ProcessHandle(pid, UniqueFd()); }

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  bool valid() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

// Owns a freshly started child until Release(); on destruction SIGKILLs and reaps it.
class ChildGuard {
 public:
  explicit ChildGuard(ProcessHandle h) : handle_(std::move(h)) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ChildGuard(ChildGuard&&) = default;
  ~ChildGuard();

  const ProcessHandle& handle() const { return handle_; }
  ProcessHandle Release() && { return std::exchange(handle_, ProcessHandle()); }

 private:
  ProcessHandle handle_;
};

}  // namespace podshim
