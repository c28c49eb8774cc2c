#include "common/process_handle.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace podshim {

ChildGuard::~ChildGuard() {
  if (!handle_.valid() || handle_.pidfd() < 0) return;
  ::syscall(SYS_pidfd_send_signal, handle_.pidfd(), SIGKILL, nullptr, 0);
  siginfo_t info{};
  while (::waitid(P_PIDFD, static_cast<id_t>(handle_.pidfd()), &info, WEXITED) < 0 &&
         errno == EINTR) {
  }
}

}  // namespace podshim
