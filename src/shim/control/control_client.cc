#include "shim/control/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace podshim::shim::control {

Result<UniqueFd> ConnectControlSocket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return Error::Invalid("the socket path is longer than " +
                          std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::Errno(errno, "socket");
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    std::string reason = std::strerror(errno);
    for (char& c : reason) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return Error::Invalid(reason);
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<std::string> LineReader::Next() {
  for (;;) {
    std::size_t nl = buf_.find('\n', start_);
    if (nl != std::string::npos) {
      std::string line = buf_.substr(start_, nl - start_);
      start_ = nl + 1;
      if (start_ > 65536) {
        buf_.erase(0, start_);
        start_ = 0;
      }
      return line;
    }
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buf_.append(chunk, static_cast<std::size_t>(n));
  }
}

bool LineReader::Closed() {
  if (start_ < buf_.size()) return false;
  char c;
  ssize_t n;
  do {
    n = ::recv(fd_, &c, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) buf_.push_back(c);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

}  // namespace podshim::shim::control
