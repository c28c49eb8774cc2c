// The HTTP(S) GET of httpGet probes and hooks, kubelet-style (pkg/probe/http): Boost.Beast over a
// TCP socket the caller makes (in the pod's network namespace), or over Asio's OpenSSL stream for
// HTTPS without verifying the certificate. Same-host redirects are followed; only the response
// header is read. Pure pieces (headers, redirects, status) are separate for tests.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/manifest/manifest.h"
#include "shim/pod/probe_outcome.h"

namespace podshim::shim {

// The address a probe connects to: empty and "localhost" mean the pod's own loopback; otherwise
// an IP address literal (podshim does not resolve names), else nullopt.
std::optional<boost::asio::ip::address> ProbeHostAddress(std::string_view host);

// One GET: where (host as written in the URL, its address, port, TLS or not) and what (path with
// query, httpHeaders in order, the User-Agent used when they set none).
struct HttpGetTarget {
  std::string host;  // the URL's hostname: the action's host, or "127.0.0.1"
  boost::asio::ip::address address;
  int port = 0;
  bool tls = false;
  std::string path = "/";
  std::vector<HttpHeader> headers;
  std::string user_agent;
};
// The target of `action` (kubelet GetProbeUrl): kInvalidSpec when its host is not an address.
Result<HttpGetTarget> HttpGetTargetFor(const HttpGetAction& action, std::string_view user_agent);
// "127.0.0.1:8080", "[::1]:8443": the address and port, as in messages and the default Host.
std::string HttpEndpoint(const HttpGetTarget& t);

// The request's header fields in order (kubelet newProbeRequest): Host (host:port unless
// httpHeaders give one), User-Agent and Accept "*/*" unless given (an Accept given empty is left
// out), every other httpHeader in order.
std::vector<HttpHeader> HttpRequestFields(const HttpGetTarget& t);

// 200-399 is success; 3xx are only seen here when the redirect was not followed.
ProbeOutcome HttpStatusOutcome(int status);

// Where a redirect (301, 302, 303, 307, 308 with `location`) leads from `from`: the next target
// when its hostname is the same (a relative location keeps everything but the path; an absolute
// one may change scheme and port and drops a custom Host header), nullopt when it leads to another
// host (kubelet then stops following: the 3xx counts as success, with a warning) or cannot be
// parsed.
std::optional<HttpGetTarget> FollowRedirect(const HttpGetTarget& from, std::string_view location);
// kubelet gives up after 10 requests of one probe ("stopped after 10 redirects").
inline constexpr int kMaxHttpRequests = 10;
// Response header bytes read at most (the body is never read).
inline constexpr std::size_t kMaxHttpHeaderBytes = 64 * 1024;

// Makes a connected-to-be TCP socket of `family` (AF_INET / AF_INET6): in the pod's network
// namespace for probes (TcpSocketInNetns), a plain socket in tests.
using SocketFactory = std::function<Result<UniqueFd>(int family)>;

// Runs GETs on `io` (which must outlive every run and the client). Get returns at once; `done` is
// called exactly once, from io.run(), never from inside the call. A run ends at the first of: the
// final status, an error, or `timeout` over all its requests (then its connection is closed and
// the outcome is "<endpoint>: timed out after Ns"). The TLS context is made on the first HTTPS
// run and kept.
class HttpGetClient {
 public:
  using Duration = std::chrono::steady_clock::duration;

  explicit HttpGetClient(boost::asio::io_context& io);
  ~HttpGetClient();
  HttpGetClient(const HttpGetClient&) = delete;
  HttpGetClient& operator=(const HttpGetClient&) = delete;

  void Get(HttpGetTarget target, SocketFactory sockets, Duration timeout, ProbeCallback done);

  // The TLS client context, shared with the runs (which may outlive the client).
  struct Tls;

 private:
  boost::asio::io_context* io_;
  std::shared_ptr<Tls> tls_;
};

}  // namespace podshim::shim
