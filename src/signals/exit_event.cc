#include "signals/exit_event.h"

#include <sys/wait.h>

namespace podshim::signals {

ExitEvent ExitedWith(pid_t pid, int code) {
  const int c = code & 0xff;
  return {.pid = pid, .exit_code = c, .signal = 0, .status = c, .core_dumped = false};
}

ExitEvent KilledBy(pid_t pid, int sig, bool core_dumped) {
  return {
      .pid = pid, .exit_code = 0, .signal = sig, .status = 128 + sig, .core_dumped = core_dumped};
}

ExitEvent DecodeSiginfo(const siginfo_t& info) {
  switch (info.si_code) {
    case CLD_KILLED:
      return KilledBy(info.si_pid, info.si_status, false);
    case CLD_DUMPED:
      return KilledBy(info.si_pid, info.si_status, true);
    default:  // CLD_EXITED (WEXITED is the only state podshim waits for)
      return ExitedWith(info.si_pid, info.si_status);
  }
}

ExitEvent DecodeWaitStatus(pid_t pid, int wstatus) {
  if (WIFSIGNALED(wstatus)) return KilledBy(pid, WTERMSIG(wstatus), WCOREDUMP(wstatus));
  return ExitedWith(pid, WEXITSTATUS(wstatus));
}

}  // namespace podshim::signals
