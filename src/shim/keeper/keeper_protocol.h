// The pod keeper's wire protocol and files (docs/decisions.md, "The pod keeper"): one
// SOCK_SEQPACKET message per record, a short text line carrying at most one fd (SCM_RIGHTS).
// The shim sends "hold" (an output pipe's read end) and "drop"; a recovering shim sends "take",
// answered by one "held" per fd, then "end". Also the orphan-exit files the keeper writes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace podshim::shim::keeper {

// A message never exceeds this many bytes (a container name is at most 253).
constexpr size_t kMaxMessageBytes = 320;
// The keeper holds at most this many fds; a hold beyond it is closed at once (not kept).
constexpr size_t kMaxHeldFds = 4096;

enum class Stream { kStdout, kStderr };

// Which pipe an fd is the read end of: an instance's stdout or stderr.
struct PipeKey {
  std::string container;
  int restart_count = 0;
  Stream stream = Stream::kStdout;
  bool operator==(const PipeKey&) const = default;
};

enum class MessageKind { kHold, kDrop, kTake, kHeld, kEnd };

struct Message {
  MessageKind kind = MessageKind::kEnd;
  PipeKey key;  // for kHold, kDrop and kHeld
  bool operator==(const Message&) const = default;
};

// "hold out 0 web", "drop err 2 web", "take", "held out 0 web", "end". Pure.
std::string Encode(const Message& m);
Result<Message> Decode(std::string_view text);

// How an orphan the keeper reaped ended, as its file says ("exit 7", "signal 9"). Pure.
struct OrphanExit {
  bool signalled = false;
  int value = 0;  // the exit code, or the signal
  bool operator==(const OrphanExit&) const = default;
};
std::string FormatOrphanExit(const OrphanExit& e);
Result<OrphanExit> ParseOrphanExit(std::string_view text);

// <state-dir>/keeper.sock, <state-dir>/orphan-exits and its file "<pid>-<start ticks>".
std::filesystem::path SocketPath(const std::filesystem::path& state_dir);
std::filesystem::path OrphanExitDir(const std::filesystem::path& state_dir);
std::string OrphanExitName(pid_t pid, uint64_t start_ticks);

// Sends `m` with `fd` attached (-1: none); never raises SIGPIPE. `flags` adds MSG_DONTWAIT.
Status Send(int sock, const Message& m, int fd = -1, int flags = 0);

struct Received {
  Message message;
  UniqueFd fd;  // close-on-exec; invalid when the message carried none
};
// One message; nullopt at EOF. A message too long or not decodable is an error (any fd it
// carried is closed).
Result<std::optional<Received>> Receive(int sock);

}  // namespace podshim::shim::keeper
