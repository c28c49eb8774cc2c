#include "shim/run/probe_runner.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include "common/quoted.h"

namespace podshim::shim {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string Endpoint(const asio::ip::address& addr, int port) {
  if (addr.is_v6()) return "[" + addr.to_string() + "]:" + std::to_string(port);
  return addr.to_string() + ":" + std::to_string(port);
}

// One tcpSocket run: the socket, its timer and the callback. Completion handlers hold it alive;
// the first of outcome, error and timeout ends it, closes the socket and cancels the timer.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(asio::io_context& io, ProbeCallback done, std::string target, ProbeRunner::Duration timeout)
      : socket_(io),
        timer_(io),
        done_(std::move(done)),
        target_(std::move(target)),
        timeout_(timeout) {}

  // Takes the socket, arms the timeout and connects.
  void Start(UniqueFd fd, const asio::ip::address& addr, int port) {
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    boost::system::error_code ec;
    socket_.assign(ep.protocol(), fd.get(), ec);
    if (ec) {
      Finish(false, "dial tcp " + target_ + ": " + ec.message());
      return;
    }
    (void)fd.Release();  // the asio socket owns it now
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      if (!e)
        self->Finish(false, self->target_ + ": timed out after " + FormatTimeout(self->timeout_));
    });
    socket_.async_connect(ep, [self = shared_from_this()](const boost::system::error_code& e) {
      self->OnConnected(e);
    });
  }

  void Finish(bool ok, std::string message) {
    if (finished_) return;
    finished_ = true;
    boost::system::error_code ignored;
    timer_.cancel(ignored);
    socket_.close(ignored);
    ProbeCallback done = std::move(done_);
    done(ProbeOutcome{ok, std::move(message)});
  }

 private:
  void OnConnected(const boost::system::error_code& e) {
    if (finished_) return;
    if (e) {
      Finish(false, "dial tcp " + target_ + ": connect: " + e.message());
      return;
    }
    Finish(true, "");
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  ProbeCallback done_;
  std::string target_;
  ProbeRunner::Duration timeout_;
  bool finished_ = false;
};

void PostOutcome(asio::io_context& io, ProbeCallback done, ProbeOutcome outcome) {
  asio::post(io, [done = std::move(done), outcome = std::move(outcome)]() mutable {
    done(std::move(outcome));
  });
}

// tcpSocket: resolve, make the socket in the namespace, start the run.
void StartTcpRun(asio::io_context& io, int netns_fd, std::string_view host, int port,
                 ProbeRunner::Duration timeout, ProbeCallback done) {
  auto addr = ProbeHostAddress(host);
  if (!addr) {
    PostOutcome(io, std::move(done), {false, "host " + Quoted(host) + " is not an IP address"});
    return;
  }
  std::string target = Endpoint(*addr, port);
  auto fd = TcpSocketInNetns(netns_fd, addr->is_v6() ? AF_INET6 : AF_INET);
  if (!fd) {
    PostOutcome(io, std::move(done), {false, "dial tcp " + target + ": " + fd.error().ToString()});
    return;
  }
  auto run = std::make_shared<Run>(io, std::move(done), target, timeout);
  // Start may finish at once (assign failure); Finish must not call back from inside this call.
  asio::post(io, [run, fd = std::make_shared<UniqueFd>(std::move(*fd)), a = *addr, port]() {
    run->Start(std::move(*fd), a, port);
  });
}

}  // namespace

Result<UniqueFd> TcpSocketInNetns(int netns_fd, int family) {
  auto make = [family]() -> Result<UniqueFd> {
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error::Errno(errno, "create tcp socket");
    return UniqueFd(fd);
  };
  if (netns_fd < 0) return make();

  int self_fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self_fd < 0) return Error::Errno(errno, "open /proc/thread-self/ns/net");
  UniqueFd self(self_fd);
  struct stat here {};
  struct stat there {};
  if (::fstat(self.get(), &here) < 0) return Error::Errno(errno, "stat own network namespace");
  if (::fstat(netns_fd, &there) < 0) return Error::Errno(errno, "stat pod network namespace");
  if (here.st_dev == there.st_dev && here.st_ino == there.st_ino) return make();

  if (::setns(netns_fd, CLONE_NEWNET) < 0) {
    return Error::Errno(errno, "enter pod network namespace");
  }
  auto sock = make();
  if (::setns(self.get(), CLONE_NEWNET) < 0) {
    // The thread is stuck in the pod's namespace; everything after would be wrong. Report it: the
    // caller must treat this as fatal.
    return Error::Errno(errno, "return to the shim's network namespace");
  }
  return sock;
}

void ProbeRunner::TcpSocket(int netns_fd, const TcpSocketAction& action, Duration timeout,
                            ProbeCallback done) {
  StartTcpRun(*io_, netns_fd, action.host, action.port, timeout, std::move(done));
}

void ProbeRunner::HttpGet(int netns_fd, const HttpGetAction& action, Duration timeout,
                          ProbeCallback done, std::string_view user_agent) {
  auto target = HttpGetTargetFor(action, user_agent);
  if (!target) {
    PostOutcome(*io_, std::move(done), {false, target.error().context()});
    return;
  }
  http_.Get(
      std::move(*target), [netns_fd](int family) { return TcpSocketInNetns(netns_fd, family); },
      timeout, std::move(done));
}

void ProbeRunner::Run(int netns_fd, const Probe& probe, ProbeCallback done) {
  if (const auto* h = std::get_if<HttpGetAction>(&probe.handler)) {
    HttpGet(netns_fd, *h, probe.timeout, std::move(done));
  } else if (const auto* t = std::get_if<TcpSocketAction>(&probe.handler)) {
    TcpSocket(netns_fd, *t, probe.timeout, std::move(done));
  } else if (std::holds_alternative<ExecAction>(probe.handler)) {
    PostOutcome(*io_, std::move(done), {false, "exec probes run in the container, not here"});
  } else {
    PostOutcome(*io_, std::move(done), {false, "grpc probes are not supported by podshim"});
  }
}

}  // namespace podshim::shim
