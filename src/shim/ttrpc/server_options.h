// The ttrpc server's limits and its peer rule, apart from the server so that a connection can
// read them without the server's header.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>

namespace podshim::shim::ttrpc {

struct ServerOptions {
  // A connection stops reading requests while this many of its calls are unanswered or have
  // answers not yet written; it reads on once the peer has taken some answers.
  std::size_t max_pending_calls = 1024;
  // ... and while this many bytes of answers wait to be written.
  std::size_t max_queued_bytes = 1 << 20;
  // The uid a peer must have (SO_PEERCRED); unset: the server's effective uid.
  std::optional<uid_t> allowed_uid;
};

}  // namespace podshim::shim::ttrpc
