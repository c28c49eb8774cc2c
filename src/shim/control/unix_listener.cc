#include "shim/control/unix_listener.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/quoted.h"

namespace podshim::shim::control {
namespace {

Result<sockaddr_un> UnixAddress(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& s = path.native();
  if (s.empty() || s.size() >= sizeof(addr.sun_path)) {
    return Error::Invalid("socket path " + Quoted(s) + " must be 1 to " +
                          std::to_string(sizeof(addr.sun_path) - 1) + " bytes long");
  }
  std::memcpy(addr.sun_path, s.data(), s.size());
  return addr;
}

// A socket file at `path` that refuses connections is left over from a shim that died: remove
// it. A live one is a conflict; anything else at the path is left alone (bind reports it).
Status RemoveStaleSocket(const std::filesystem::path& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return Ok();
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return Error::Errno(errno, "socket");
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
    return Error::Domain(podshim::ErrorCode::kConflict,
                         "a shim is already listening on " + Quoted(path.string()));
  }
  if (errno != ECONNREFUSED) return Ok();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Error::Errno(errno, "remove stale socket " + Quoted(path.string()));
  }
  return Ok();
}

std::string OctalMode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
  return text;
}

}  // namespace

Result<UniqueFd> ListenUnixSocket(const std::filesystem::path& socket_path, mode_t mode) {
  sockaddr_un addr = PODSHIM_TRY(UnixAddress(socket_path));
  PODSHIM_TRY(RemoveStaleSocket(socket_path, addr));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Error::Errno(errno, "socket");
  // Linux creates the socket file with the socket inode's mode masked by the umask, so a
  // fchmod before bind means the file never exists with a wider mode (no umask race).
  if (::fchmod(fd.get(), mode) != 0) return Error::Errno(errno, "fchmod control socket");
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Error::Errno(errno, "bind " + Quoted(socket_path.string()));
  }
  struct stat st {};
  if (::stat(socket_path.c_str(), &st) != 0 || (st.st_mode & 0777) != mode) {
    // Not expected on Linux; never leave a wider socket listening.
    int err = errno != 0 ? errno : EPERM;
    ::unlink(socket_path.c_str());
    return Error::Errno(err, "control socket " + Quoted(socket_path.string()) +
                                 " did not get mode " + OctalMode(mode));
  }
  if (::listen(fd.get(), 64) != 0) {
    int err = errno;
    ::unlink(socket_path.c_str());
    return Error::Errno(err, "listen " + Quoted(socket_path.string()));
  }
  return fd;
}

Status CheckListeningAt(int fd, const std::filesystem::path& socket_path) {
  const std::string what = "handed-over fd " + std::to_string(fd) + " ";
  int listening = 0, type = 0;
  socklen_t len = sizeof(listening);
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) {
    return Error::Invalid(what + "is not a listening socket");
  }
  len = sizeof(type);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
    return Error::Invalid(what + "is not a stream socket");
  }
  sockaddr_un addr{};
  len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      addr.sun_family != AF_UNIX) {
    return Error::Invalid(what + "is not a Unix socket");
  }
  const std::string bound(addr.sun_path, ::strnlen(addr.sun_path, sizeof(addr.sun_path)));
  struct stat st {};
  if (bound != socket_path.native() || ::lstat(socket_path.c_str(), &st) != 0 ||
      !S_ISSOCK(st.st_mode)) {
    return Error::Invalid(what + "is bound at " + Quoted(bound) + ", not at " +
                          Quoted(socket_path.string()));
  }
  return Ok();
}

}  // namespace podshim::shim::control
