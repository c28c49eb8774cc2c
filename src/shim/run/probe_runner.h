// Probe handlers that run in the shim: tcpSocket and httpGet (HTTP and HTTPS, http_client.h),
// asynchronous on the shim's one io_context, each bounded by its own timer. The socket is created
// inside the pod's network namespace by a short setns(CLONE_NEWNET) excursion of the single thread,
// so "127.0.0.1:PORT" reaches the container; exec probes run in the container (the launcher): only
// their pure parts.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "shim/manifest/manifest.h"
#include "shim/run/http_client.h"

namespace podshim::shim {

// A non-blocking, close-on-exec TCP socket of `family` (AF_INET / AF_INET6) created inside the
// network namespace `netns_fd` (an fd of /proc/<pid>/ns/net): the calling thread setns()es there,
// creates the socket and setns()es back to the namespace it came from before returning, also on
// error. The socket keeps its namespace for life, so it can be used from the event loop after.
// netns_fd < 0, or a namespace that is the caller's own, needs no excursion (and no privilege);
// otherwise CAP_SYS_ADMIN is needed. The shim has one thread, so nothing else runs meanwhile.
Result<UniqueFd> TcpSocketInNetns(int netns_fd, int family);

// The User-Agent of httpGet probes and of httpGet hooks (kubelet: kube-probe/<ver>,
// kube-lifecycle/<ver>), unless their httpHeaders set one.
inline constexpr char kProbeUserAgent[] = "kube-probe/podshim";
inline constexpr char kHookUserAgent[] = "kube-lifecycle/podshim";

// Runs tcpSocket and httpGet checks on `io` (which must outlive every run). Each call returns at
// once; `done` is called exactly once, from io.run(), never from inside the call. A run ends at the
// first of: the outcome, an error, or `timeout` (then the connection is closed and the outcome is
// "timed out after Ns"). httpGet (HTTP or HTTPS) goes through HttpGetClient, each connection made
// in the pod's network namespace.
class ProbeRunner {
 public:
  using Duration = std::chrono::steady_clock::duration;

  explicit ProbeRunner(boost::asio::io_context& io) : io_(&io), http_(io) {}

  // Success when the TCP connection is established.
  void TcpSocket(int netns_fd, const TcpSocketAction& action, Duration timeout, ProbeCallback done);
  // GET over HTTP or HTTPS (HttpGetClient): success for a final status 200-399.
  void HttpGet(int netns_fd, const HttpGetAction& action, Duration timeout, ProbeCallback done,
               std::string_view user_agent = kProbeUserAgent);
  // A probe's tcpSocket or httpGet handler with its timeoutSeconds. Exec runs in the container
  // (ContainerExecutor) and grpc is refused by validation: both report a failed outcome here.
  void Run(int netns_fd, const Probe& probe, ProbeCallback done);

 private:
  boost::asio::io_context* io_;
  HttpGetClient http_;
};

}  // namespace podshim::shim
