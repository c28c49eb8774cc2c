#include "shim/run/probe_runner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "common/unique_fd.h"
#include "fixtures/loopback_socket.h"

namespace podshim::shim {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A loopback HTTP server on the test's io_context: answers every request with `response` and
// keeps the last request it read.
class HttpServer {
 public:
  HttpServer(asio::io_context& io, std::string response)
      : acceptor_(io), response_(std::move(response)) {
    boost::system::error_code ec;
    tcp::endpoint ep(asio::ip::address_v4::loopback(), 0);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(16, ec);
    ok_ = !ec;
    if (ok_) Accept();
  }
  bool ok() const { return ok_; }
  int port() const { return acceptor_.local_endpoint().port(); }
  const std::string& last_request() const { return last_request_; }

 private:
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::string buf;
  };

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec) return;
      auto conn = std::make_shared<Conn>(std::move(s));
      asio::async_read_until(conn->socket, asio::dynamic_buffer(conn->buf), "\r\n\r\n",
                             [this, conn](const boost::system::error_code& re, std::size_t) {
                               if (re) return;
                               last_request_ = conn->buf;
                               asio::async_write(
                                   conn->socket, asio::buffer(response_),
                                   [conn](const boost::system::error_code&, std::size_t) {
                                     boost::system::error_code ignored;
                                     conn->socket.close(ignored);
                                   });
                             });
      Accept();
    });
  }

  tcp::acceptor acceptor_;
  std::string response_;
  std::string last_request_;
  bool ok_ = false;
};

class ProbeRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    netns_ = UniqueFd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(netns_.valid()) << std::strerror(errno);
  }

  // Runs the io_context until the outcome arrives (at most 10 s, a safety net only).
  ProbeOutcome Wait(std::optional<ProbeOutcome>& out) {
    auto start = std::chrono::steady_clock::now();
    while (!out && std::chrono::steady_clock::now() - start < 10s) io_.run_one_for(100ms);
    EXPECT_TRUE(out.has_value()) << "no outcome within 10 s";
    return out.value_or(ProbeOutcome{false, "no outcome"});
  }

  ProbeOutcome Http(int port, std::string path = "/healthz", std::vector<HttpHeader> headers = {},
                    ProbeRunner::Duration timeout = 2s) {
    HttpGetAction a;
    a.port = port;
    a.path = std::move(path);
    a.http_headers = std::move(headers);
    std::optional<ProbeOutcome> out;
    bool called_inline = true;
    runner_.HttpGet(netns_.get(), a, timeout, [&](ProbeOutcome o) { out = std::move(o); });
    called_inline = out.has_value();
    EXPECT_FALSE(called_inline) << "the callback must not run inside HttpGet";
    return Wait(out);
  }

  ProbeOutcome Tcp(int port, ProbeRunner::Duration timeout = 2s) {
    TcpSocketAction a;
    a.port = port;
    std::optional<ProbeOutcome> out;
    runner_.TcpSocket(netns_.get(), a, timeout, [&](ProbeOutcome o) { out = std::move(o); });
    EXPECT_FALSE(out.has_value()) << "the callback must not run inside TcpSocket";
    return Wait(out);
  }

  asio::io_context io_;
  ProbeRunner runner_{io_};
  UniqueFd netns_;
};

TEST_F(ProbeRunnerTest, TcpConnectSucceeds) {
  auto listening = podshim::testing::BindLoopback(true);
  ASSERT_NE(listening.port, 0);
  ProbeOutcome o = Tcp(listening.port);
  EXPECT_TRUE(o.success) << o.message;
}

TEST_F(ProbeRunnerTest, TcpConnectRefused) {
  auto closed = podshim::testing::BindLoopback(
      false);  // bound, not listening: the port stays ours and refuses
  ASSERT_NE(closed.port, 0);
  ProbeOutcome o = Tcp(closed.port);
  EXPECT_FALSE(o.success);
  EXPECT_NE(o.message.find("refused"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("127.0.0.1:" + std::to_string(closed.port)), std::string::npos);
}

struct StatusCase {
  std::string status_line;
  bool success;
};

class HttpStatusTest : public ProbeRunnerTest, public ::testing::WithParamInterface<StatusCase> {};

TEST_P(HttpStatusTest, StatusDecidesTheOutcome) {
  HttpServer server(io_, GetParam().status_line + "\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(server.ok());
  ProbeOutcome o = Http(server.port());
  EXPECT_EQ(o.success, GetParam().success) << o.message;
  if (!o.success) {
    EXPECT_NE(o.message.find("statuscode"), std::string::npos) << o.message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Codes, HttpStatusTest,
    ::testing::Values(StatusCase{"HTTP/1.1 200 OK", true}, StatusCase{"HTTP/1.1 302 Found", true},
                      StatusCase{"HTTP/1.0 399 Odd", true},
                      StatusCase{"HTTP/1.1 404 Not Found", false},
                      StatusCase{"HTTP/1.1 500 Internal Server Error", false}));

TEST_F(ProbeRunnerTest, HttpSendsPathHostAndHeaders) {
  HttpServer server(io_, "HTTP/1.1 200 OK\r\n\r\n");
  ASSERT_TRUE(server.ok());
  ProbeOutcome o =
      Http(server.port(), "/ready?full=1", {{"X-Probe", "yes"}, {"Accept", "text/plain"}});
  EXPECT_TRUE(o.success) << o.message;
  const std::string& req = server.last_request();
  EXPECT_TRUE(req.starts_with("GET /ready?full=1 HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << req;
  EXPECT_NE(req.find("\r\nX-Probe: yes\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nAccept: text/plain\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("Accept: */*"), std::string::npos) << req;  // replaced by the header given
}

TEST_F(ProbeRunnerTest, HttpServerThatNeverAnswersTimesOut) {
  auto silent = podshim::testing::BindLoopback(true);
  ASSERT_NE(silent.port, 0);
  auto start = std::chrono::steady_clock::now();
  ProbeOutcome o = Http(silent.port, "/", {}, 300ms);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(o.success);
  EXPECT_NE(o.message.find("timed out after 300ms"), std::string::npos) << o.message;
  std::printf(
      "[ info ] silent server: outcome after %lld ms (timeout 300 ms)\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

TEST_F(ProbeRunnerTest, ServerClosingWithoutAStatusLineFails) {
  HttpServer server(io_, "garbage\r\n");
  ASSERT_TRUE(server.ok());
  ProbeOutcome o = Http(server.port());
  EXPECT_FALSE(o.success);
  EXPECT_NE(o.message.find("read response from 127.0.0.1:"), std::string::npos) << o.message;
}

TEST_F(ProbeRunnerTest, RunDispatchesOnTheHandler) {
  auto listening = podshim::testing::BindLoopback(true);
  Probe p;
  TcpSocketAction tcp;
  tcp.port = listening.port;
  p.handler = tcp;
  std::optional<ProbeOutcome> out;
  runner_.Run(netns_.get(), p, [&](ProbeOutcome o) { out = std::move(o); });
  EXPECT_TRUE(Wait(out).success);

  p.handler = ExecAction{{"/bin/true"}};
  out.reset();
  runner_.Run(netns_.get(), p, [&](ProbeOutcome o) { out = std::move(o); });
  EXPECT_FALSE(Wait(out).success);
}

TEST(HttpPiecesTest, StatusOutcome) {
  EXPECT_TRUE(HttpStatusOutcome(200).success);
  EXPECT_TRUE(HttpStatusOutcome(399).success);
  EXPECT_FALSE(HttpStatusOutcome(199).success);
  EXPECT_EQ(HttpStatusOutcome(404).message, "HTTP probe failed with statuscode: 404");
}

TEST_F(ProbeRunnerTest, RequestHonoursAHostHeader) {
  HttpServer server(io_, "HTTP/1.1 200 OK\r\n\r\n");
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(Http(server.port(), "health", {{"Host", "svc.local"}}).success);
  const std::string& req = server.last_request();
  EXPECT_TRUE(req.starts_with("GET /health HTTP/1.1\r\n")) << req;
  EXPECT_EQ(req.find("127.0.0.1"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nHost: svc.local\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nUser-Agent: kube-probe/podshim\r\n"), std::string::npos) << req;
  EXPECT_TRUE(req.ends_with("\r\nConnection: close\r\n\r\n")) << req;
}

// The setns excursion for real: a forked child unshares a network namespace, brings its loopback
// up and serves HTTP there; the probe reaches it only through the child's namespace fd.
TEST(ProbeNetnsTest, ProbeConnectsInsideAnotherNetworkNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to unshare and setns a network namespace";
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: only syscalls from here on.
    ::close(ready[0]);
    int port = -1;
    if (::unshare(CLONE_NEWNET) != 0) {
      port = -errno;
      (void)!::write(ready[1], &port, sizeof port);
      ::_exit(1);
    }
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_UP | IFF_RUNNING;
    if (s < 0 || ::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
      port = -errno;
      (void)!::write(ready[1], &port, sizeof port);
      ::_exit(1);
    }
    int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(l, 4) != 0 ||
        ::getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      port = -errno;
      (void)!::write(ready[1], &port, sizeof port);
      ::_exit(1);
    }
    port = ntohs(sa.sin_port);
    (void)!::write(ready[1], &port, sizeof port);
    for (;;) {
      int c = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      char buf[1024];
      (void)!::read(c, buf, sizeof buf);
      const char resp[] = "HTTP/1.1 204 No Content\r\n\r\n";
      (void)!::write(c, resp, sizeof resp - 1);
      ::close(c);
    }
  }
  ::close(ready[1]);
  int port = 0;
  ssize_t n = ::read(ready[0], &port, sizeof port);
  ::close(ready[0]);
  auto stop_child = [pid] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  };
  if (n != sizeof port || port <= 0) {
    stop_child();
    GTEST_SKIP() << "could not set up a network namespace in the child: "
                 << (port < 0 ? std::strerror(-port) : "no answer");
  }

  UniqueFd child_netns(
      ::open(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(child_netns.valid());
  UniqueFd own_netns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  struct stat before {};
  ASSERT_EQ(::fstat(own_netns.get(), &before), 0);

  asio::io_context io;
  ProbeRunner runner(io);
  HttpGetAction a;
  a.port = port;
  std::optional<ProbeOutcome> inside;
  runner.HttpGet(child_netns.get(), a, 2s, [&](ProbeOutcome o) { inside = std::move(o); });
  // The socket exists now; the thread is back in its own namespace.
  UniqueFd after_fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  struct stat after {};
  ASSERT_EQ(::fstat(after_fd.get(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "the setns excursion did not come back";
  io.run_for(5s);
  ASSERT_TRUE(inside.has_value());
  EXPECT_TRUE(inside->success) << inside->message;
  EXPECT_EQ(inside->message, "HTTP 204");

  // The same port in the test's own namespace is (almost surely) not served by the child.
  std::optional<ProbeOutcome> outside;
  TcpSocketAction t;
  t.port = port;
  io.restart();
  runner.TcpSocket(own_netns.get(), t, 2s, [&](ProbeOutcome o) { outside = std::move(o); });
  io.run_for(5s);
  ASSERT_TRUE(outside.has_value());
  EXPECT_FALSE(outside->success) << "port " << port << " answered in the test's own namespace";
  stop_child();
}

}  // namespace
}  // namespace podshim::shim
