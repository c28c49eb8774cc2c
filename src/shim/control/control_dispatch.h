// The requests the control server answers at once, in one call to the handler (status, stats,
// stop, kill, restart, version): the request in, the response line out. Exec, events and upgrade
// outlive the call and stay with the server's session (control_server.cc).
#pragma once

#include <optional>
#include <string>

#include "shim/control/control_handler.h"
#include "shim/control/control_protocol.h"

namespace podshim::shim::control {

// The response line (without newline) of `request`, or nullopt for a request the session serves
// itself (exec, events, upgrade).
std::optional<std::string> AnswerAtOnce(ControlHandler& handler,
                                        const std::optional<std::string>& id,
                                        const Request& request);

}  // namespace podshim::shim::control
