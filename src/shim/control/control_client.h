// The blocking client side of the control socket (docs/control-api.md): connect, send request
// lines, read response lines. `podshim ctl` is built on it; tests and benchmarks that talk to a
// shim use it too.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim::control {

// A connected, close-on-exec client socket. The error's context is the reason in lower case
// ("connection refused", "no such file or directory"), or that the path is too long.
Result<UniqueFd> ConnectControlSocket(const std::string& path);

// send(2) with MSG_NOSIGNAL until all of `data` is sent: a shim that hung up is `false`, never a
// SIGPIPE.
bool SendAll(int fd, std::string_view data);

// Reads one line at a time from `fd` (not owned).
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // The next line without its newline; nullopt at end of input, on an error or a receive
  // timeout (SO_RCVTIMEO).
  std::optional<std::string> Next();
  // True when the peer closed (end of input, or a reset) and every line was read.
  bool Closed();

 private:
  int fd_;
  std::string buf_;
  std::size_t start_ = 0;
};

}  // namespace podshim::shim::control
