#include "signals/reaper.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>

namespace podshim::signals {

Status BecomeSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    return Error::Errno(errno, "prctl PR_SET_CHILD_SUBREAPER");
  }
  return Ok();
}

Result<bool> IsSubreaper() {
  int flag = 0;
  if (::prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0) < 0) {
    return Error::Errno(errno, "prctl PR_GET_CHILD_SUBREAPER");
  }
  return flag != 0;
}

Result<std::optional<ExitEvent>> ReapOne() {
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG) < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) return std::nullopt;  // no children at all
      return Error::Errno(errno, "waitid");
    }
    // WNOHANG with children that are all still running: success, si_pid left 0.
    if (info.si_pid == 0) return std::nullopt;
    return DecodeSiginfo(info);
  }
}

Result<std::vector<ExitEvent>> ReapAll() {
  std::vector<ExitEvent> out;
  for (;;) {
    std::optional<ExitEvent> ev = PODSHIM_TRY(ReapOne());
    if (!ev) return out;
    out.push_back(*ev);
  }
}

}  // namespace podshim::signals
