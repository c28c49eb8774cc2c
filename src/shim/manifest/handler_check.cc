#include "shim/manifest/handler_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <variant>

#include "common/quoted.h"

namespace podshim::shim {
namespace {

Status ValidateHost(std::string_view host, std::string_view path) {
  if (!IsProbeHostLiteral(host)) {
    return Error::Invalid(std::string(path) + ".host: " + Quoted(host) +
                          " is not an IP address (podshim does not resolve names)");
  }
  return Ok();
}

Status ValidatePort(int port, const std::string& path) {
  if (port < 1 || port > 65535) return Error::Invalid(path + ".port: must be between 1 and 65535");
  return Ok();
}

}  // namespace

bool IsProbeHostLiteral(std::string_view host) {
  if (host.empty() || host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return true;
  // Boost.Asio's make_address, which connects, takes a scope after '%' ("fe80::1%eth0").
  const std::string address = text.substr(0, text.find('%'));
  in6_addr v6{};
  return ::inet_pton(AF_INET6, address.c_str(), &v6) == 1;
}

Status ValidateHttpGetAction(const HttpGetAction& action, std::string_view path) {
  std::string p = std::string(path) + ".httpGet";
  PODSHIM_TRY(ValidatePort(action.port, p));
  return ValidateHost(action.host, p);
}

Status ValidateTcpSocketAction(const TcpSocketAction& action, std::string_view path) {
  std::string p = std::string(path) + ".tcpSocket";
  PODSHIM_TRY(ValidatePort(action.port, p));
  return ValidateHost(action.host, p);
}

Status ValidateProbeHandler(const ProbeHandler& handler, std::string_view path) {
  if (const auto* e = std::get_if<ExecAction>(&handler)) {
    if (e->command.empty()) {
      return Error::Invalid(std::string(path) + ".exec.command: must not be empty");
    }
    return Ok();
  }
  if (const auto* h = std::get_if<HttpGetAction>(&handler)) return ValidateHttpGetAction(*h, path);
  if (const auto* t = std::get_if<TcpSocketAction>(&handler)) {
    return ValidateTcpSocketAction(*t, path);
  }
  return Error::Domain(ErrorCode::kUnsupported,
                       std::string(path) + ".grpc: grpc probes are not supported by podshim");
}

Status ValidateLifecycleHandler(const LifecycleHandler& handler, std::string_view path) {
  if (const auto* e = std::get_if<ExecAction>(&handler)) {
    if (e->command.empty()) {
      return Error::Invalid(std::string(path) + ".exec.command: must not be empty");
    }
  } else if (const auto* h = std::get_if<HttpGetAction>(&handler)) {
    return ValidateHttpGetAction(*h, path);
  }
  return Ok();
}

}  // namespace podshim::shim
