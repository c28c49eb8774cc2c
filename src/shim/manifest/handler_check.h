// Whether the shim can carry out a probe's or a lifecycle hook's handler, checked on the manifest
// alone (no I/O): exec needs a command, httpGet and tcpSocket a port in 1-65535 and a host that is
// an IP address literal or "localhost" (podshim does not resolve names), grpc is not supported.
// Validation and the hook planner both use these, so `validate` and `run` refuse the same handlers.
#pragma once

#include <string_view>

#include "common/result.h"
#include "shim/manifest/manifest.h"

namespace podshim::shim {

// True for "", "localhost", an IPv4 literal or an IPv6 literal (with an optional "%scope").
bool IsProbeHostLiteral(std::string_view host);

// `path` names the handler's field in the error ("spec.containers[0].readinessProbe"); the
// errors are kInvalidSpec, grpc is kUnsupported.
Status ValidateProbeHandler(const ProbeHandler& handler, std::string_view path);
Status ValidateHttpGetAction(const HttpGetAction& action, std::string_view path);
Status ValidateTcpSocketAction(const TcpSocketAction& action, std::string_view path);
// A postStart or preStop handler; `path` ends in the hook ("....lifecycle.postStart").
Status ValidateLifecycleHandler(const LifecycleHandler& handler, std::string_view path);

}  // namespace podshim::shim
