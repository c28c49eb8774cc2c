// The resident shim: one Asio loop serving containerd's task service over ttrpc on the pod's
// socket, reaping its containers (it is their parent and a child subreaper), forwarding events
// to containerd, and exiting once Shutdown finds no task left.
#pragma once

#include <filesystem>
#include <string>

#include "common/unique_fd.h"

namespace podshim::shim::shimv2 {

struct ServeOptions {
  std::string ns;                     // -namespace: events' namespace
  std::filesystem::path socket_path;  // removed when the shim exits
  std::string events_address;         // $TTRPC_ADDRESS; empty: events are dropped
  UniqueFd ready_channel;             // gets "ready\n" once serving, then is closed
};

// Serves until the last task is gone and Shutdown came; returns the process exit status.
int Serve(UniqueFd listener, ServeOptions opts);

}  // namespace podshim::shim::shimv2
