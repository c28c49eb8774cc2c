#include "shim/keeper/keeper_protocol.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/fd_passing.h"

namespace podshim::shim::keeper {
namespace {

constexpr size_t kMaxNameBytes = 253;

std::string_view StreamWord(Stream s) { return s == Stream::kStdout ? "out" : "err"; }

std::string_view KindWord(MessageKind k) {
  switch (k) {
    case MessageKind::kHold:
      return "hold";
    case MessageKind::kDrop:
      return "drop";
    case MessageKind::kTake:
      return "take";
    case MessageKind::kHeld:
      return "held";
    case MessageKind::kEnd:
      break;
  }
  return "end";
}

// The next space-separated word of `text` (consumed with its space).
std::string_view NextWord(std::string_view& text) {
  const size_t sp = text.find(' ');
  std::string_view word = text.substr(0, sp);
  text.remove_prefix(sp == std::string_view::npos ? text.size() : sp + 1);
  return word;
}

Result<int> ParseNonNegative(std::string_view text, std::string_view what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return Error::Invalid("keeper message: bad " + std::string(what) + " '" + std::string(text) +
                          "'");
  }
  return value;
}

}  // namespace

std::string Encode(const Message& m) {
  std::string out(KindWord(m.kind));
  if (m.kind == MessageKind::kHold || m.kind == MessageKind::kDrop ||
      m.kind == MessageKind::kHeld) {
    out += ' ';
    out += StreamWord(m.key.stream);
    out += ' ';
    out += std::to_string(m.key.restart_count);
    out += ' ';
    out += m.key.container;
  }
  return out;
}

Result<Message> Decode(std::string_view text) {
  if (text.size() > kMaxMessageBytes) return Error::Invalid("keeper message: too long");
  Message m;
  const std::string_view kind = NextWord(text);
  if (kind == "take" || kind == "end") {
    if (!text.empty()) return Error::Invalid("keeper message: '" + std::string(kind) + "' + data");
    m.kind = kind == "take" ? MessageKind::kTake : MessageKind::kEnd;
    return m;
  }
  if (kind == "hold") {
    m.kind = MessageKind::kHold;
  } else if (kind == "drop") {
    m.kind = MessageKind::kDrop;
  } else if (kind == "held") {
    m.kind = MessageKind::kHeld;
  } else {
    return Error::Invalid("keeper message: unknown kind '" + std::string(kind) + "'");
  }
  const std::string_view stream = NextWord(text);
  if (stream == "out") {
    m.key.stream = Stream::kStdout;
  } else if (stream == "err") {
    m.key.stream = Stream::kStderr;
  } else {
    return Error::Invalid("keeper message: unknown stream '" + std::string(stream) + "'");
  }
  m.key.restart_count = PODSHIM_TRY(ParseNonNegative(NextWord(text), "restart count"));
  // The rest is the container name: a DNS label, so never empty and never with a space.
  if (text.empty() || text.size() > kMaxNameBytes || text.find(' ') != std::string_view::npos) {
    return Error::Invalid("keeper message: bad container name '" + std::string(text) + "'");
  }
  m.key.container = std::string(text);
  return m;
}

std::string FormatOrphanExit(const OrphanExit& e) {
  return (e.signalled ? "signal " : "exit ") + std::to_string(e.value) + "\n";
}

Result<OrphanExit> ParseOrphanExit(std::string_view text) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  OrphanExit e;
  const std::string_view kind = NextWord(text);
  if (kind == "signal") {
    e.signalled = true;
  } else if (kind != "exit") {
    return Error::Invalid("orphan exit: unknown kind '" + std::string(kind) + "'");
  }
  e.value = PODSHIM_TRY(ParseNonNegative(text, "status"));
  if (e.value > (e.signalled ? 64 : 255)) {
    return Error::Invalid("orphan exit: status out of range: " + std::to_string(e.value));
  }
  return e;
}

std::filesystem::path SocketPath(const std::filesystem::path& state_dir) {
  return state_dir / "keeper.sock";
}

std::filesystem::path OrphanExitDir(const std::filesystem::path& state_dir) {
  return state_dir / "orphan-exits";
}

std::string OrphanExitName(pid_t pid, uint64_t start_ticks) {
  return std::to_string(pid) + "-" + std::to_string(start_ticks);
}

Status Send(int sock, const Message& m, int fd, int flags) {
  const std::string text = Encode(m);
  const ssize_t n = SendWithFd(sock, text.data(), text.size(), fd, flags);
  if (n < 0) return Error::Errno(static_cast<int>(-n), "send '" + text + "' to the pod keeper");
  return Ok();
}

Result<std::optional<Received>> Receive(int sock) {
  char buf[kMaxMessageBytes + 1];
  ReceivedWithFd in = PODSHIM_TRY_WRAP(ReceiveWithFd(sock, buf, MSG_DONTWAIT),
                                       "receive from the pod keeper socket");
  if (in.bytes == 0 && in.fds == 0) return std::optional<Received>();  // EOF (no empty messages)
  if (in.truncated || in.fds > 1) {
    return Error::Invalid("keeper message: truncated or more than one fd");
  }
  Received r;
  r.fd = std::move(in.fd);
  r.message = PODSHIM_TRY(Decode(std::string_view(buf, in.bytes)));
  return std::optional<Received>(std::move(r));
}

}  // namespace podshim::shim::keeper
