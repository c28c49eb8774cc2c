// The fds `podshim oci` hands a new process besides its stdio: the caller's --preserve-fds range
// (create, run and exec take it the same way) and, for a terminal podshim relays itself, the
// console socketpair whose one end the process sends its pty master over.
#pragma once

#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim {

// fds 3 .. 3+n-1 of the caller, each checked to be open: kInvalidSpec
// `--preserve-fds 2: fd 4 is not open` otherwise.
Result<std::vector<int>> PreservedFds(int n);

// An AF_UNIX SOCK_STREAM pair, close-on-exec: {ours (receives the master), the process's}.
Result<std::pair<UniqueFd, UniqueFd>> ConsoleSocketPair();

}  // namespace podshim::shim
