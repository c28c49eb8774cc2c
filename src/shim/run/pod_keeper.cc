#include "shim/run/pod_keeper.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace podshim::shim {

Result<KeeperConnection> KeeperConnection::Connect(const std::filesystem::path& path) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) {
    return Error::Invalid("keeper socket path too long: " + path.string());
  }
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock) return Error::Errno(errno, "keeper socket");
  int rc;
  do {
    rc = ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return Error::Errno(errno, "connect to " + path.string());
  return KeeperConnection(std::move(sock));
}

Result<std::vector<HeldPipe>> KeeperConnection::Take(std::chrono::milliseconds timeout) {
  PODSHIM_TRY(keeper::Send(sock_.get(), {keeper::MessageKind::kTake, {}}));
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::vector<HeldPipe> held;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Error::Errno(ETIMEDOUT, "the pod keeper did not answer 'take' in time");
    }
    pollfd p{sock_.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return Error::Errno(errno, "wait for the pod keeper");
    if (n <= 0) continue;
    std::optional<keeper::Received> r = PODSHIM_TRY(keeper::Receive(sock_.get()));
    if (!r) return Error::Errno(EPIPE, "the pod keeper closed the socket during 'take'");
    if (r->message.kind == keeper::MessageKind::kEnd) return held;
    if (r->message.kind != keeper::MessageKind::kHeld || !r->fd) {
      return Error::Invalid("the pod keeper answered 'take' with '" + keeper::Encode(r->message) +
                            "'");
    }
    held.push_back({std::move(r->message.key), std::move(r->fd)});
  }
}

void KeeperConnection::Hold(const keeper::PipeKey& key, int read_end) {
  if (failed_) return;
  Status sent =
      keeper::Send(sock_.get(), {keeper::MessageKind::kHold, key}, read_end, MSG_DONTWAIT);
  if (sent) return;
  // A full socket loses this one pipe; a keeper that is gone loses all later ones (said once).
  failed_ = sent.error().code() != std::errc::resource_unavailable_try_again;
  spdlog::warn("{}: output of {} written while no shim is alive will not be kept",
               sent.error().ToString(), key.container);
}

}  // namespace podshim::shim
