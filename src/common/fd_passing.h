// One fd passed over a Unix socket (SCM_RIGHTS) with a short payload: the pty master of
// `oci create --console-socket`, and the pod keeper's pipes. Sending allocates nothing (it runs
// in forked children); receiving keeps at most one fd and closes any others, so none leaks.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim {

// Sends `size` bytes of `payload` with `fd` attached (-1: none), with MSG_NOSIGNAL and `flags`,
// retrying EINTR. Returns the bytes sent, or -errno.
ssize_t SendWithFd(int sock, const void* payload, size_t size, int fd, int flags = 0);

struct ReceivedWithFd {
  size_t bytes = 0;        // payload bytes now in the buffer (0 at EOF)
  UniqueFd fd;             // the first fd that came (close-on-exec); invalid without one
  int fds = 0;             // how many came: every one after the first was closed
  bool truncated = false;  // the payload or the fds did not fit (MSG_TRUNC, MSG_CTRUNC)
};

// Receives one message into `buf`, with MSG_CMSG_CLOEXEC and `flags`, retrying EINTR.
Result<ReceivedWithFd> ReceiveWithFd(int sock, std::span<char> buf, int flags = 0);

}  // namespace podshim
