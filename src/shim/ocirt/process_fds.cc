#include "shim/ocirt/process_fds.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace podshim::shim {

Result<std::vector<int>> PreservedFds(int n) {
  std::vector<int> fds;
  for (int fd = 3; fd < 3 + n; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0) {
      return Error::Invalid("--preserve-fds " + std::to_string(n) + ": fd " + std::to_string(fd) +
                            " is not open");
    }
    fds.push_back(fd);
  }
  return fds;
}

Result<std::pair<UniqueFd, UniqueFd>> ConsoleSocketPair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    return Error::Errno(errno, "console socketpair");
  }
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(sv[0]), UniqueFd(sv[1]));
}

}  // namespace podshim::shim
