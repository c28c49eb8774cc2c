// A listening Unix stream socket at a path, made safely: a stale socket file left by a dead shim
// is removed, a live one is a conflict, and the file never exists with a wider mode than asked
// (fchmod before bind). The control server hands the fd to Asio.
#pragma once

#include <sys/stat.h>

#include <filesystem>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim::control {

// A non-blocking, close-on-exec listening socket bound at `socket_path` with file mode `mode`.
// Errors: kInvalidSpec for a path that does not fit sun_path, kConflict when a shim answers on
// the path already, errno errors otherwise (the socket file is removed again).
Result<UniqueFd> ListenUnixSocket(const std::filesystem::path& socket_path, mode_t mode);

// Checks that `fd` (handed over by the shim this one replaced in place) is a listening Unix
// stream socket bound at `socket_path` whose file is still there; kInvalidSpec says what is not.
Status CheckListeningAt(int fd, const std::filesystem::path& socket_path);

}  // namespace podshim::shim::control
