// ExitEvent: how a child ended, decoded once from waitid()'s siginfo_t (or a waitpid status)
// into the numbers podshim reports: exit code 0-255, or death by signal N shown as 128+N
// (SEMANTICS 6.3: SIGKILL -> 137, SIGTERM -> 143). Pure.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace podshim::signals {

struct ExitEvent {
  pid_t pid = 0;
  int exit_code = 0;  // 0-255 when the process exited; 0 when a signal killed it
  int signal = 0;     // the signal that killed it; 0 if it exited
  int status = 0;     // exit_code, or 128 + signal
  bool core_dumped = false;

  bool killed() const { return signal != 0; }
  bool operator==(const ExitEvent&) const = default;
};

ExitEvent ExitedWith(pid_t pid, int code);
ExitEvent KilledBy(pid_t pid, int sig, bool core_dumped = false);

// From waitid(): si_code CLD_EXITED / CLD_KILLED / CLD_DUMPED and si_status.
ExitEvent DecodeSiginfo(const siginfo_t& info);
// From waitpid()'s wstatus (WIFEXITED / WIFSIGNALED / WCOREDUMP).
ExitEvent DecodeWaitStatus(pid_t pid, int wstatus);

}  // namespace podshim::signals
