#include "shim/shimv2/shim_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "common/sys.h"

namespace podshim::shim::shimv2 {
namespace {

namespace fs = std::filesystem;

// containerd's bundles hold specs of a few KiB; anything far larger is not read for a group.
constexpr size_t kMaxConfigBytes = 4 << 20;

// Where shims' sockets live (runc's shim uses it too; the file names never collide: podshim's
// hash input starts with "podshim/").
constexpr const char* kSocketDir = "/run/containerd/s";

Result<sockaddr_un> UnixAddress(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& s = path.native();
  if (s.size() >= sizeof(addr.sun_path)) {
    return Error::Invalid("socket path " + s + " is longer than " +
                          std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, s.c_str(), s.size() + 1);
  return addr;
}

}  // namespace

std::string TaskGroup(const fs::path& bundle, const std::string& id) {
  auto fd = sys::Open(bundle / "config.json", O_RDONLY | O_CLOEXEC);
  if (!fd) return id;
  auto text = sys::ReadAll(fd->get(), kMaxConfigBytes);
  if (!text) return id;
  nlohmann::json spec = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!spec.is_object()) return id;
  auto annotations = spec.find("annotations");
  if (annotations == spec.end() || !annotations->is_object()) return id;
  for (const char* key : {"io.containerd.runc.v2.group", "io.kubernetes.cri.sandbox-id"}) {
    auto it = annotations->find(key);
    if (it != annotations->end() && it->is_string() && !it->get<std::string>().empty()) {
      return it->get<std::string>();
    }
  }
  return id;
}

void RemoveSocketIfStale(const fs::path& bundle) {
  auto text = sys::ReadFile(bundle / "address");
  if (!text || !text->starts_with("unix://")) return;
  fs::path socket = text->substr(7);
  if (socket.parent_path() != kSocketDir || IsServing(socket)) return;
  (void)::unlink(socket.c_str());
}

fs::path ShimSocketPath(const std::string& address, const std::string& ns,
                        const std::string& group) {
  return fs::path(kSocketDir) / Sha256Hex("podshim/" + address + "/" + ns + "/" + group);
}

bool IsServing(const fs::path& path) {
  auto addr = UnixAddress(path);
  if (!addr) return false;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) == 0;
}

Result<UniqueFd> ListenAt(const fs::path& path) {
  sockaddr_un addr = PODSHIM_TRY(UnixAddress(path));
  PODSHIM_TRY(sys::MakeDirs(path.parent_path(), 0711));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::Errno(errno, "socket");
  for (int attempt = 0;; ++attempt) {
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) break;
    if (errno != EADDRINUSE || attempt > 0) return Error::Errno(errno, "bind " + path.native());
    if (IsServing(path)) {
      return Error::Domain(ErrorCode::kConflict, "a shim already serves " + path.native());
    }
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
      return Error::Errno(errno, "remove stale socket " + path.native());
    }
  }
  if (::chmod(path.c_str(), 0600) < 0 || ::listen(fd.get(), SOMAXCONN) < 0) {
    int err = errno;
    ::unlink(path.c_str());
    return Error::Errno(err, "listen on " + path.native());
  }
  return fd;
}

Status WriteAddressFile(const fs::path& bundle, const fs::path& socket) {
  return sys::WriteFileAtomic(bundle / "address", "unix://" + socket.native(), 0644,
                              sys::Sync::kPageCache);
}

}  // namespace podshim::shim::shimv2
